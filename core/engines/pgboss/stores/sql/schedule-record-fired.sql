-- Record a handled slot (the last slot only moves forward) and, when given, the job it enqueued.
-- $1 text    name
-- $2 bigint  slot, ms since epoch (null: a manual run)
-- $3 text    job id (null: the slot was skipped)
-- returns nothing
INSERT INTO {schema}.conveyor_schedule_state AS s (name, last_slot_ms, last_job_id) VALUES ($1, $2, $3)
  ON CONFLICT (name) DO UPDATE SET
    last_slot_ms = GREATEST(s.last_slot_ms, excluded.last_slot_ms),
    last_job_id = COALESCE(excluded.last_job_id, s.last_job_id)
