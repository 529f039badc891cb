-- Give fetched-but-never-started jobs back, as if they had not been fetched (attempt count restored).
-- $1 text    queue
-- $2 uuid[]  job ids
-- returns nothing
UPDATE {schema}.job SET state = 'retry', start_after = now(), heartbeat_on = NULL,
    started_on = CASE WHEN retry_count = 0 THEN NULL ELSE started_on END, retry_count = GREATEST(retry_count - 1, 0),
    output = output - 'started'
  WHERE name = $1 AND id = ANY($2::uuid[]) AND state = 'active'
