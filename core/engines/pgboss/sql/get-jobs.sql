-- Many jobs by id, looked up among queues (a bulk's repeated keys: one query instead of one per job).
-- $1 text[]  queues to look in
-- $2 uuid[]  job ids
-- returns: a job row per id found, as get-job.sql
SELECT j.id, j.name, j.priority, j.data, j.state, j.retry_limit, j.retry_count, j.start_after, j.created_on,
    j.started_on, j.completed_on, j.output, j.start_after > now() AS future,
    (j.state = 'failed' AND EXISTS (SELECT 1 FROM {schema}.job d WHERE d.name = j.name || '-dlq' AND (d.id = j.id OR d.source_id = j.id))) AS dead
  FROM {schema}.job j WHERE j.name = ANY($1) AND j.id = ANY($2::uuid[])
