-- Completed runs of one queue that carry an output (a result or progress), in one statement: each job's
-- output comes from a JSON recordset (as pg-boss's own per-job-output completion does). Only rows still
-- active (ours). Plain completions without output go through pg-boss's `complete` with all their ids.
-- $1 text  queue
-- $2 text  JSON array of {"id": uuid, "output": {...}}
-- returns: id of each row completed
WITH input AS (
  SELECT * FROM json_to_recordset($2::text::json) AS x (id uuid, output jsonb)
)
UPDATE {schema}.job j SET completed_on = now(), state = 'completed', output = i.output
  FROM input i
  WHERE j.name = $1 AND j.id = i.id AND j.state = 'active'
  RETURNING j.id
