-- Add finished runs to a bucket, per queue.
-- $1 text[]    queues
-- $2 bigint    bucket
-- $3 bigint[]  counts, one per queue
-- returns nothing
INSERT INTO {schema}.conveyor_throughput AS t (queue, bucket, n) SELECT q, $2, c FROM unnest($1::text[], $3::bigint[]) AS u(q, c)
  ON CONFLICT (queue, bucket) DO UPDATE SET n = t.n + excluded.n
