-- Every record, by name.
-- no parameters
-- returns doc jsonb
SELECT doc FROM {schema}.{table} ORDER BY name
