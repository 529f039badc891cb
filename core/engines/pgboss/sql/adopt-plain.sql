-- A plain pg-boss job (sent without our envelope) on a queue of one kind, as it starts: our envelope is
-- added with that kind and its attempts, so reads, retries and dead letters name the kind from now on.
-- $1 text   queue
-- $2 uuid   job id
-- $3 jsonb  the envelope {kind, maxAttempts}
-- returns nothing
UPDATE {schema}.job SET data = COALESCE(data, '{}'::jsonb) || jsonb_build_object('$conveyor', $3::jsonb)
  WHERE name = $1 AND id = $2 AND jsonb_typeof(COALESCE(data, '{}'::jsonb)) = 'object' AND NOT (COALESCE(data, '{}'::jsonb) ? '$conveyor')
