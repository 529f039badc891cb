-- One record.
-- $1 text  name
-- returns doc jsonb (no row: none)
SELECT doc FROM {schema}.{table} WHERE name = $1
