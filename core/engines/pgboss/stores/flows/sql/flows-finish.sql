-- Record how jobs of flow $1 ended, each once, and count them off their children, in one statement: the
-- ends a worker has for one flow while its previous write is in flight go together (fan-in of 1,000 parents
-- is a few of these, not 1,000). The flow's row is locked first (`lk`, which every other step depends on),
-- so concurrent finishes of one flow from other processes queue up on it instead of deadlocking; the UPDATEs
-- re-read rows changed while waiting (READ COMMITTED re-check), so counts stay exact. A child named by
-- several of the ends is counted off once per end (`kids` sums them).
-- No joins: each UPDATE finds its rows by the primary key, `flow_id = $1 AND key = ANY(<keys>)`, and reads
-- what to write from a JSON object by key (`eo`, `ko`, each computed once). A new flow's rows have no
-- statistics until autovacuum analyzes them, and a join of the batch with them was planned as if the flow
-- had one row: every end compared with every job (999,000 rows filtered for a root's 1,000 children, 300 ms;
-- 44,000 for 49 ends) or a hash of the whole flow per batch (docs/flows.md).
-- No row when no end was recorded (all already recorded, or no such flow): the caller reads the counts.
-- $1 flow id text
-- $2 jsonb: [{ "key", "final", "outcome", "failed": 0|1 }] (keys distinct)
-- returns one row: state, finished, total, failed (after the whole batch),
--   recorded: [{ key, children }] in the order given (the ends recorded now),
--   kids: [{ key, remaining, failed_parents, final }] (every child counted off, with its counts after the batch)
WITH lk AS (
  SELECT id FROM {schema}.conveyor_flow WHERE id = $1 FOR UPDATE
), eo AS (
  -- the ends by key: { key: { final, outcome, failed, ord } }, and their keys
  SELECT jsonb_object_agg(e.value->>'key', e.value || jsonb_build_object('ord', e.ord)) AS m,
      array_agg(e.value->>'key') AS keys
    FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(value, ord)
), rec AS (
  UPDATE {schema}.conveyor_flow_job j
    SET final = (SELECT m FROM eo)->j.key->>'final', outcome = (SELECT m FROM eo)->j.key->'outcome'
  WHERE j.flow_id = $1 AND j.key = ANY ((SELECT keys FROM eo)::text[]) AND j.final IS NULL AND EXISTS (SELECT 1 FROM lk)
  RETURNING j.key, j.children, ((SELECT m FROM eo)->j.key->>'failed')::int AS failed, ((SELECT m FROM eo)->j.key->>'ord')::int AS ord
), cnt AS (
  UPDATE {schema}.conveyor_flow SET finished = finished + (SELECT count(*) FROM rec),
      failed = failed + (SELECT COALESCE(sum(failed), 0) FROM rec)
  WHERE id = $1 AND EXISTS (SELECT 1 FROM rec)
  RETURNING state, finished, total, failed
), kids AS (
  SELECT c AS key, count(*)::int AS n, sum(rec.failed)::int AS f FROM rec, unnest(rec.children) AS c GROUP BY c
), ko AS (
  -- the children to count off by key: { key: [ends, failed ends] }, and their keys
  SELECT jsonb_object_agg(key, jsonb_build_array(n, f)) AS m, array_agg(key) AS keys FROM kids
), off AS (
  UPDATE {schema}.conveyor_flow_job c
    SET remaining = c.remaining - ((SELECT m FROM ko)->c.key->>0)::int,
      failed_parents = c.failed_parents + ((SELECT m FROM ko)->c.key->>1)::int
  WHERE c.flow_id = $1 AND c.key = ANY ((SELECT keys FROM ko)::text[])
  RETURNING c.key, c.remaining, c.failed_parents, c.final
)
SELECT cnt.state, cnt.finished, cnt.total, cnt.failed,
  (SELECT COALESCE(jsonb_agg(jsonb_build_object('key', rec.key, 'children', rec.children, 'failed', rec.failed) ORDER BY rec.ord), '[]')
     FROM rec) AS recorded,
  (SELECT COALESCE(jsonb_agg(jsonb_build_object('key', off.key, 'remaining', off.remaining, 'failed_parents', off.failed_parents,
     'final', off.final)), '[]') FROM off) AS kids
FROM cnt
