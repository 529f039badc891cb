-- When the first failed attempt of a job's current series was recorded (the latest attempt-1 entry of
-- output.attempts: a job run again with fresh attempts starts a new series), for its retry budget
-- (retryFor); read only when a job with a budget fails again.
-- $1 text   queue
-- $2 uuid   job id
-- returns   at text (ISO-8601); no row when none is recorded
SELECT e.a->>'at' AS at
  FROM {schema}.job j, jsonb_array_elements(COALESCE(j.output->'attempts', '[]'::jsonb)) WITH ORDINALITY AS e(a, i)
  WHERE j.name = $1 AND j.id = $2 AND e.a->>'attempt' = '1'
  ORDER BY e.i DESC LIMIT 1
