-- Retention by count: delete the oldest finished jobs of a queue beyond the newest $2, among jobs whose
-- stored retention names the count (`$conveyor`.retention.<key>; idempotent jobs carry none).
-- $1 text       queue
-- $2 int        how many to keep
-- $3 job_state  completed | failed
-- $4 text       completedCount | failedCount
-- returns nothing
DELETE FROM {schema}.job j USING (
    SELECT id FROM {schema}.job WHERE name = $1 AND state = $3::{schema}.job_state AND data->'$conveyor'->'retention' ? $4
    ORDER BY completed_on DESC OFFSET $2) old
  WHERE j.name = $1 AND j.id = old.id
