-- Record how jobs of flow $1 ended, each once, and count them off their children, in one statement: the
-- ends a worker has for one flow while its previous write is in flight go together (fan-in of 1,000 parents
-- is a few of these, not 1,000). The flow's row is locked first (`lk`, which every other step depends on),
-- so concurrent finishes of one flow from other processes queue up on it instead of deadlocking; the UPDATEs
-- re-read rows changed while waiting (READ COMMITTED re-check), so counts stay exact. A child named by
-- several of the ends is counted off once per end (`kids` sums them).
-- No row when no end was recorded (all already recorded, or no such flow): the caller reads the counts.
-- $1 flow id text
-- $2 jsonb: [{ "key", "final", "outcome", "failed": 0|1 }] (keys distinct)
-- returns one row: state, finished, total, failed (after the whole batch),
--   recorded: [{ key, children }] in the order given (the ends recorded now),
--   kids: [{ key, remaining, failed_parents, final }] (every child counted off, with its counts after the batch)
WITH lk AS (
  SELECT id FROM {schema}.conveyor_flow WHERE id = $1 FOR UPDATE
), ends AS (
  SELECT e.key, e.final, e.outcome, e.failed, e.ord
  FROM ROWS FROM (jsonb_to_recordset($2::jsonb) AS (key text, final text, outcome jsonb, failed int)) WITH ORDINALITY
    AS e(key, final, outcome, failed, ord)
), rec AS (
  UPDATE {schema}.conveyor_flow_job j SET final = e.final, outcome = e.outcome
  FROM ends e
  WHERE j.flow_id = $1 AND j.key = e.key AND j.final IS NULL AND EXISTS (SELECT 1 FROM lk)
  RETURNING j.key, j.children, e.failed, e.ord
), cnt AS (
  UPDATE {schema}.conveyor_flow SET finished = finished + (SELECT count(*) FROM rec),
      failed = failed + (SELECT COALESCE(sum(failed), 0) FROM rec)
  WHERE id = $1 AND EXISTS (SELECT 1 FROM rec)
  RETURNING state, finished, total, failed
), kids AS (
  SELECT c AS key, count(*)::int AS n, sum(rec.failed)::int AS f FROM rec, unnest(rec.children) AS c GROUP BY c
), off AS (
  UPDATE {schema}.conveyor_flow_job c SET remaining = c.remaining - k.n, failed_parents = c.failed_parents + k.f
  FROM kids k WHERE c.flow_id = $1 AND c.key = k.key
  RETURNING c.key, c.remaining, c.failed_parents, c.final
)
SELECT cnt.state, cnt.finished, cnt.total, cnt.failed,
  (SELECT COALESCE(jsonb_agg(jsonb_build_object('key', rec.key, 'children', rec.children, 'failed', rec.failed) ORDER BY rec.ord), '[]')
     FROM rec) AS recorded,
  (SELECT COALESCE(jsonb_agg(jsonb_build_object('key', off.key, 'remaining', off.remaining, 'failed_parents', off.failed_parents,
     'final', off.final)), '[]') FROM off) AS kids
FROM cnt
