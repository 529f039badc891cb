-- Remove a job that is not running, and its dead letters (bulk action `delete`).
-- $1 text  queue
-- $2 uuid  job id
-- returns: one row per row removed (name)
DELETE FROM {schema}.job
  WHERE (name = $1 AND id = $2 AND state <> 'active') OR (name = $1 || '-dlq' AND (id = $2 OR source_id = $2)
    AND EXISTS (SELECT 1 FROM {schema}.job a WHERE a.name = $1 AND a.id = $2 AND a.state <> 'active'))
  RETURNING name
