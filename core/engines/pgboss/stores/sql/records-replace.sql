-- Compare-and-set: replace a record only if it is still the one the caller read (jsonb equality).
-- $1 text   name
-- $2 jsonb  the record as read
-- $3 jsonb  its replacement (same name)
-- returns: one row (name) when replaced, none when it changed or is gone
UPDATE {schema}.{table} SET doc = $3, updated_at = now() WHERE name = $1 AND doc = $2::jsonb RETURNING name
