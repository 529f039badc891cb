-- Drop minutes older than the charts' hour.
-- $1 bigint  the oldest minute kept
-- returns nothing
DELETE FROM {schema}.conveyor_queue_minute WHERE minute < $1
