-- A run that ends the job: failed for good, its error and attempt recorded (only if still ours: active).
-- Run inside the transaction that writes the dead letter.
-- $1 text   queue
-- $2 uuid   job id
-- $3 jsonb  the error {name, message, stack}
-- $4 jsonb  [attempt record] appended to output.attempts
-- returns: 0 rows (not ours any more) or 1: data, priority, retry_limit, expire_seconds, deletion_seconds,
--          attempts (the whole history)
UPDATE {schema}.job SET state = 'failed', completed_on = now(), heartbeat_on = NULL,
    -- failed jobs keep RETENTION_FAILED_SECONDS (the job's retention.failedSeconds), not the completed one
    deletion_seconds = COALESCE((data->'$conveyor'->'retention'->>'failedSeconds')::int, deletion_seconds),
    output = COALESCE(output, '{}'::jsonb) || jsonb_build_object('error', $3::jsonb,
      'attempts', COALESCE(output->'attempts', '[]'::jsonb) || $4::jsonb)
  WHERE name = $1 AND id = $2 AND state = 'active'
  RETURNING data, priority, retry_limit, expire_seconds, deletion_seconds, output->'attempts' AS attempts
