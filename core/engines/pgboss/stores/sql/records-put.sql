-- Create or replace a record.
-- $1 text   name
-- $2 jsonb  record
-- returns nothing
INSERT INTO {schema}.{table} (name, doc) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET doc = EXCLUDED.doc, updated_at = now()
