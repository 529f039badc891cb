-- Remove a runtime schedule and its firing state.
-- $1 text  name
-- returns n int (1: it existed), s int (1: it had firing state)
WITH gone AS (DELETE FROM {schema}.conveyor_schedule WHERE name = $1 RETURNING 1),
     state AS (DELETE FROM {schema}.conveyor_schedule_state WHERE name = $1 RETURNING 1)
SELECT (SELECT count(*) FROM gone)::int AS n, (SELECT count(*) FROM state)::int AS s
