-- Every paused queue.
-- no parameters
-- returns: rows (queue text)
SELECT queue FROM {schema}.conveyor_paused
