-- Stall recovery, part 2: `active` jobs whose heartbeat lapsed and that recover-stalled left in place
-- (started, already at the stall limit); the caller dead-letters each one. The limit is checked here
-- again, and rows another process holds are skipped: part 1 skips rows locked by a concurrent sweep, so
-- without both a job that sweep was putting back (under the limit) would be read as one over it.
-- $1 text[]  queues
-- $2 int     heartbeat seconds
-- $3 uuid[]  jobs the sweeping process holds itself
-- $4 int     the most stalls a job may have (WORKER_MAX_STALLED_COUNT)
-- returns: id, name, data, retry_count, stalls
SELECT id, name, data, retry_count, COALESCE((output->>'stalls')::int, 0) AS stalls
  FROM {schema}.job
  WHERE name = ANY($1) AND state = 'active' AND heartbeat_on + $2 * interval '1 second' < now()
    AND COALESCE((output->>'started')::int = retry_count, false)
    AND COALESCE((output->>'stalls')::int, 0) >= $4
    AND NOT (id = ANY($3::uuid[]))
  LIMIT 1000
  FOR UPDATE SKIP LOCKED
