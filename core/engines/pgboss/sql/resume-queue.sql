-- Resume a queue (idempotent).
-- $1 text  queue
-- returns nothing
DELETE FROM {schema}.conveyor_paused WHERE queue = $1
