-- Record how job $2 of flow $1 ended, once, and count it off its children, in one statement (one round trip:
-- fan-in of 1,000 parents is 1,000 of these). The flow's row is locked first (`lk`, which every other step
-- depends on), so concurrent finishes of one flow queue up on it instead of deadlocking; the UPDATEs re-read
-- rows changed while waiting (READ COMMITTED re-check), so counts stay exact. No row when the job's end was
-- already recorded (or no such flow): the caller then reads the counts (flows-lock, flows-children).
-- $1 flow id text, $2 key text, $3 final text, $4 outcome jsonb, $5 failed 0|1
-- returns one row per child (key null when it has none): state, finished, total, failed, key, remaining, failed_parents, final
WITH lk AS (
  SELECT id FROM {schema}.conveyor_flow WHERE id = $1 FOR UPDATE
), rec AS (
  UPDATE {schema}.conveyor_flow_job SET final = $3, outcome = $4::jsonb
  WHERE flow_id = $1 AND key = $2 AND final IS NULL AND EXISTS (SELECT 1 FROM lk)
  RETURNING children
), cnt AS (
  UPDATE {schema}.conveyor_flow SET finished = finished + 1, failed = failed + $5::int
  WHERE id = $1 AND EXISTS (SELECT 1 FROM rec)
  RETURNING state, finished, total, failed
), off AS (
  UPDATE {schema}.conveyor_flow_job c SET remaining = c.remaining - 1, failed_parents = c.failed_parents + $5::int
  FROM rec WHERE c.flow_id = $1 AND c.key = ANY(rec.children)
  RETURNING c.key, c.remaining, c.failed_parents, c.final
)
SELECT cnt.state, cnt.finished, cnt.total, cnt.failed, off.key, off.remaining, off.failed_parents, off.final
FROM cnt LEFT JOIN off ON true
