-- Slots of a queue held longer than an age (the reaper checks each against its job).
-- $1 text queue, $2 numeric age ms
-- returns grp, job_id
SELECT grp, job_id FROM {schema}.conveyor_group_job
WHERE queue = $1 AND held_since IS NOT NULL AND held_since < now() - make_interval(secs => $2::numeric / 1000)
LIMIT 10000
