-- One runtime schedule.
-- $1 text  name
-- returns definition jsonb (no row: none)
SELECT definition FROM {schema}.conveyor_schedule WHERE name = $1
