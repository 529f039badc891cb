-- Add finished runs, failed runs and run time to a minute, per queue.
-- $1 text[]    queues
-- $2 bigint    minute (since the epoch)
-- $3 bigint[]  finished runs, one per queue
-- $4 bigint[]  failed runs, one per queue
-- $5 bigint[]  summed run time in ms, one per queue
-- returns nothing
INSERT INTO {schema}.conveyor_queue_minute AS t (queue, minute, n, failed, run_ms)
  SELECT q, $2, n, f, r FROM unnest($1::text[], $3::bigint[], $4::bigint[], $5::bigint[]) AS u(q, n, f, r)
  ON CONFLICT (queue, minute) DO UPDATE SET n = t.n + excluded.n, failed = t.failed + excluded.failed, run_ms = t.run_ms + excluded.run_ms
