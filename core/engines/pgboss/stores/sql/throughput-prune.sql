-- Drop buckets older than the longest window.
-- $1 bigint  the oldest bucket kept
-- returns nothing
DELETE FROM {schema}.conveyor_throughput WHERE bucket < $1
