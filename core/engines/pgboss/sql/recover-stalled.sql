-- Stall recovery, part 1: `active` jobs whose worker stopped heartbeating are put back as if never
-- fetched (attempt count and started_on restored: a crash is not the job's failure). A job whose run had
-- started (its `started` mark equals its retry_count: mark-started.sql) counts one stall in
-- output.stalls; one that would pass the limit is left active for part 2 (list-over-stalled), which
-- dead-letters it. A job only fetched ahead (no mark for this attempt) goes back untouched. Runs before
-- pg-boss's own heartbeat monitor, whose lapse is set longer (docs/engines.md).
-- $1 text[]  queues
-- $2 int     heartbeat seconds (a lapse this long means the worker is gone)
-- $3 int     the most stalls a job may have (WORKER_MAX_STALLED_COUNT)
-- $4 uuid[]  jobs the sweeping process holds itself (alive whatever their heartbeat says)
-- returns: the jobs put back: id, name, unstarted
WITH lapsed AS (
  SELECT id, name, COALESCE((output->>'started')::int = retry_count, false) AS started,
      COALESCE((output->>'stalls')::int, 0) AS stalls
    FROM {schema}.job
    WHERE name = ANY($1) AND state = 'active' AND heartbeat_on + $2 * interval '1 second' < now()
      AND NOT (id = ANY($4::uuid[]))
    FOR UPDATE SKIP LOCKED
)
UPDATE {schema}.job j SET state = 'retry', start_after = now(), heartbeat_on = NULL,
    started_on = CASE WHEN j.retry_count = 0 THEN NULL ELSE j.started_on END,
    retry_count = GREATEST(j.retry_count - 1, 0),
    output = CASE WHEN l.started THEN (COALESCE(j.output, '{}'::jsonb) - 'started') || jsonb_build_object('stalls', l.stalls + 1)
      ELSE j.output - 'started' END
  FROM lapsed l
  WHERE j.name = l.name AND j.id = l.id AND (NOT l.started OR l.stalls < $3)
  RETURNING j.id, j.name, NOT l.started AS unstarted
