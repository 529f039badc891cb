-- A failed run to be retried: due again after the decided delay, its error and attempt recorded
-- (only if still ours: active).
-- $1 text   queue
-- $2 uuid   job id
-- $3 int    delay in ms
-- $4 jsonb  the error {name, message, stack}
-- $5 jsonb  [attempt record] appended to output.attempts
-- returns nothing
UPDATE {schema}.job SET state = 'retry', start_after = now() + $3 * interval '1 millisecond', heartbeat_on = NULL,
    output = COALESCE(output, '{}'::jsonb) || jsonb_build_object('error', $4::jsonb,
      'attempts', COALESCE(output->'attempts', '[]'::jsonb) || $5::jsonb)
  WHERE name = $1 AND id = $2 AND state = 'active'
