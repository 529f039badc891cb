-- Run a failed or cancelled job again under its id with fresh attempts (bulk action `retry`).
-- $1 text  queue
-- $2 uuid  job id
-- $3 int   seconds a waiting job is kept (enqueue.ts KEEP_WAITING_SECONDS)
-- returns: 0 rows (not failed or cancelled) or 1 (id)
UPDATE {schema}.job SET state = 'created', retry_count = 0, start_after = now(), started_on = NULL,
    completed_on = NULL, heartbeat_on = NULL, keep_until = now() + $3 * interval '1 second',
    output = COALESCE(output, '{}'::jsonb) - 'error'
  WHERE name = $1 AND id = $2 AND state IN ('failed', 'cancelled')
  RETURNING id
