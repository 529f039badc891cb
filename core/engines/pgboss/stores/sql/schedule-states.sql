-- The firing state of every schedule that has any.
-- no parameters; returns name text, last_slot_ms bigint (null: none handled), last_job_id text
SELECT name, last_slot_ms, last_job_id FROM {schema}.conveyor_schedule_state
