-- What the job-search GIN indexes of a row (create-search-index-data.sql) and what search-jobs.sql matches
-- against: the payload and the kind, not the rest of our envelope ($conveyor: attempts, retention, trace
-- context, ...). Each row version pg-boss writes (fetch, complete: never HOT, its indexes change) adds this
-- document's entries to the GIN; the whole envelope was ~8 more entries per version, most of the WAL a
-- job cost beyond raw pg-boss (docs/benchmarks.md, pg-boss drain). Rows without a kind (a plain pg-boss
-- send, not an object) are indexed as they are. IMMUTABLE, so an index may use it. Idempotent.
-- returns nothing
CREATE OR REPLACE FUNCTION {schema}.conveyor_search_doc(data jsonb) RETURNS jsonb
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT CASE WHEN jsonb_typeof(data -> '$conveyor' -> 'kind') = 'string'
      THEN jsonb_set(data - '$conveyor', '{$conveyor}', jsonb_set('{}'::jsonb, '{kind}', data -> '$conveyor' -> 'kind'))
      ELSE data END
  $$
