-- Drop rows that expired more than an hour ago.
-- no parameters; returns nothing
DELETE FROM {schema}.{table} WHERE expires_at < now() - interval '1 hour'
