-- Jobs of one queue in some states, newest first (the dashboard's lists).
-- $1 text         queue
-- $2 job_state[]  states
-- $3 int          offset
-- $4 int          limit
-- $5 boolean      only jobs due later (true), only jobs due now (false), either (null)
-- returns: job rows as get-job.sql
SELECT j.id, j.name, j.priority, j.data, j.state, j.retry_limit, j.retry_count, j.start_after, j.created_on,
    j.started_on, j.completed_on, j.output, j.start_after > now() AS future,
    (j.state = 'failed' AND EXISTS (SELECT 1 FROM {schema}.job d WHERE d.name = j.name || '-dlq' AND (d.id = j.id OR d.source_id = j.id))) AS dead
  FROM {schema}.job j
  WHERE j.name = $1 AND j.state = ANY($2::{schema}.job_state[]) AND ($5::boolean IS NULL OR (j.start_after > now()) = $5)
  ORDER BY j.created_on DESC OFFSET $3 LIMIT $4
