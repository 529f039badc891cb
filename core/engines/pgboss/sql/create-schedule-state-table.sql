-- The scheduler's firing state: last slot fired per schedule.
-- no parameters; returns nothing
CREATE TABLE IF NOT EXISTS {schema}.conveyor_schedule_state (name text PRIMARY KEY, last_slot_ms bigint, last_job_id text)
