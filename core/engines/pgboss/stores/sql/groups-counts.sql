-- Per-group counts of a queue: parked (waiting), slots (active), the oldest ready parked job's age.
-- $1 text queue, $2 text[] groups (null: every group with jobs)
-- returns grp, waiting, active, oldest_s
SELECT grp,
  count(*) FILTER (WHERE held_since IS NULL)::int AS waiting,
  count(*) FILTER (WHERE held_since IS NOT NULL)::int AS active,
  coalesce(floor(extract(epoch FROM now() - min(ready_at) FILTER (WHERE held_since IS NULL AND ready_at <= now()))), 0)::int AS oldest_s
FROM {schema}.conveyor_group_job
WHERE queue = $1 AND ($2::text[] IS NULL OR grp = ANY($2::text[]))
GROUP BY grp
