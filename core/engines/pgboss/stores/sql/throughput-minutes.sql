-- Per queue the minutes of a range that have finished runs.
-- $1 text[]  queues
-- $2 bigint  first minute
-- $3 bigint  last minute
-- returns queue text, minute bigint, n bigint, failed bigint, run_ms bigint (no row: nothing finished that minute)
SELECT queue, minute, n, failed, run_ms FROM {schema}.conveyor_queue_minute WHERE queue = ANY($1) AND minute BETWEEN $2 AND $3
