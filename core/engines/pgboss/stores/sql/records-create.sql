-- A record store's table: named JSON records (runtime HTTP kinds, webhook subscriptions).
-- {table}: conveyor_records_<store name>, e.g. conveyor_records_http_kinds
-- no parameters; returns nothing
CREATE TABLE IF NOT EXISTS {schema}.{table} (name text PRIMARY KEY, doc jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())
