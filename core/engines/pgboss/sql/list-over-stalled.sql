-- Stall recovery, part 2: `active` jobs whose heartbeat lapsed and that recover-stalled left in place
-- (started, already at the stall limit); the caller dead-letters each one.
-- $1 text[]  queues
-- $2 int     heartbeat seconds
-- $3 uuid[]  jobs the sweeping process holds itself
-- returns: id, name, data, retry_count, stalls
SELECT id, name, data, retry_count, COALESCE((output->>'stalls')::int, 0) AS stalls
  FROM {schema}.job
  WHERE name = ANY($1) AND state = 'active' AND heartbeat_on + $2 * interval '1 second' < now()
    AND COALESCE((output->>'started')::int = retry_count, false)
    AND NOT (id = ANY($3::uuid[]))
  LIMIT 1000
