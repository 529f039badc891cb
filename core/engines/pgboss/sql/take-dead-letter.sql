-- Remove a dead letter (ours under the job's id, or pg-boss's copy naming it as source) for replay.
-- $1 text[]  dead-letter queues (`<queue>-dlq`)
-- $2 uuid    job id
-- returns: 0 or 1 row (id, name, data, source_id)
DELETE FROM {schema}.job WHERE name = ANY($1) AND state < 'active' AND (id = $2 OR source_id = $2)
  RETURNING id, name, data, source_id
