-- Store a whole flow in one statement: its row and every job's (all or nothing).
-- $1 id text, $2 created at ms, $3 total int, $4 jobs jsonb [{key, idx, job_id, name, parents, children, spec}]
WITH f AS (
  INSERT INTO {schema}.conveyor_flow (id, created_at, total) VALUES ($1, to_timestamp($2::bigint / 1000.0), $3::int) RETURNING id
)
INSERT INTO {schema}.conveyor_flow_job (flow_id, key, idx, job_id, name, parents, children, spec, remaining)
SELECT f.id, x.key, x.idx, x.job_id, x.name, x.parents, x.children, x.spec, cardinality(x.parents)
FROM f, jsonb_to_recordset($4::jsonb) AS x(key text, idx int, job_id text, name text, parents text[], children text[], spec jsonb)
