-- A run ended by a cancel: the job is cancelled, never retried (only if still ours: active).
-- $1 text   queue
-- $2 uuid   job id
-- $3 jsonb  the error {name, message, stack}
-- returns nothing
UPDATE {schema}.job SET state = 'cancelled', completed_on = now(),
    deletion_seconds = COALESCE((data->'$conveyor'->'retention'->>'failedSeconds')::int, deletion_seconds), output = COALESCE(output, '{}'::jsonb) || jsonb_build_object('error', $3::jsonb)
  WHERE name = $1 AND id = $2 AND state = 'active'
