-- A recent list's table; the column names are the mail catcher's, which had the table first.
-- {table}: conveyor_<list name>, e.g. conveyor_email_caught
-- no parameters; returns nothing
CREATE TABLE IF NOT EXISTS {schema}.{table} (id text PRIMARY KEY, received_at timestamptz NOT NULL, seq bigserial, mail jsonb NOT NULL)
