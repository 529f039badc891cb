-- Remove a record.
-- $1 text  name
-- returns one row when it existed
DELETE FROM {schema}.{table} WHERE name = $1 RETURNING 1 AS n
