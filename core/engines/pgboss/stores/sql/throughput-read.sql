-- Finished runs per queue over a range of buckets.
-- $1 text[]  queues
-- $2 bigint  first bucket
-- $3 bigint  last bucket
-- returns queue text, n bigint (no row: none in the range)
SELECT queue, sum(n)::bigint AS n FROM {schema}.conveyor_throughput WHERE queue = ANY($1) AND bucket BETWEEN $2 AND $3 GROUP BY queue
