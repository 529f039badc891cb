-- Every runtime schedule (conveyor_schedule is created by the engine's migration), by name.
-- no parameters; returns definition jsonb
SELECT definition FROM {schema}.conveyor_schedule ORDER BY name
