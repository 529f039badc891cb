-- Jobs matching a search, newest first (GET /v1/jobs, bulk actions; docs/job-search.md). Every condition is
-- off when its parameter is null. Indexes (create-search-index-*.sql): (name, created_on, id) walks a queue
-- newest first from the cursor; GIN (conveyor_search_doc(data) jsonb_path_ops) answers $7 (payload
-- equality and the kind; the expression must be written as the index has it).
-- $1 text[]          queues
-- $2 text[]          kinds, or null for any
-- $3 text[]          our states (waiting delayed active completed failed dead cancelled), or null
-- $4 job_state[]     the pg-boss states those come from, or null
-- $5 timestamptz     created at or after, or null
-- $6 timestamptz     created before, or null
-- $7 jsonpath        equality predicate for @@ (GIN-indexed), or null
-- $8 jsonpath        prefix predicate for @@ (checked on the rows left), or null
-- $9 timestamptz     cursor: created_on of the last job of the previous page, or null
-- $10 uuid           cursor: its id
-- $11 int            limit, or null for every match (counts)
-- returns: job rows as get-job.sql, plus sort_key (created_on as text, µs)
SELECT j.id, j.name, j.priority, j.data, j.state, j.retry_limit, j.retry_count, j.start_after, j.created_on,
    j.started_on, j.completed_on, j.output, j.start_after > now() AS future,
    (j.state = 'failed' AND EXISTS (SELECT 1 FROM {schema}.job d WHERE d.name = j.name || '-dlq' AND (d.id = j.id OR d.source_id = j.id))) AS dead,
    to_char(j.created_on AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS sort_key
  FROM {schema}.job j
  WHERE j.name = ANY($1)
    AND ($2::text[] IS NULL OR j.data->'$conveyor'->>'kind' = ANY($2))
    AND ($4::{schema}.job_state[] IS NULL OR j.state = ANY($4))
    AND ($3::text[] IS NULL OR (CASE
      WHEN j.state IN ('created', 'retry') THEN (CASE WHEN j.start_after > now() THEN 'delayed' ELSE 'waiting' END)
      WHEN j.state = 'failed' THEN (CASE WHEN EXISTS (SELECT 1 FROM {schema}.job d WHERE d.name = j.name || '-dlq' AND (d.id = j.id OR d.source_id = j.id)) THEN 'dead' ELSE 'failed' END)
      ELSE j.state::text END) = ANY($3))
    AND ($5::timestamptz IS NULL OR j.created_on >= $5)
    AND ($6::timestamptz IS NULL OR j.created_on < $6)
    AND ($7::jsonpath IS NULL OR {schema}.conveyor_search_doc(j.data) @@ $7)
    AND ($8::jsonpath IS NULL OR j.data @@ $8)
    AND ($9::timestamptz IS NULL OR (j.created_on, j.id) < ($9, $10::uuid))
  ORDER BY j.created_on DESC, j.id DESC
  LIMIT $11
