-- A flow's counts (read when a job's end was already recorded: a re-run after a crash).
-- $1 id text; returns state, finished, total, failed, or no row
SELECT state, finished, total, failed FROM {schema}.conveyor_flow WHERE id = $1
