-- Pause a queue (idempotent).
-- $1 text  queue
-- returns nothing
INSERT INTO {schema}.conveyor_paused (queue) VALUES ($1) ON CONFLICT DO NOTHING
