-- Counts per state, the age of the oldest job due now, the dead-letter count and the paused flag, per queue.
-- $1 text[]  queues
-- returns: one row per queue that has jobs or is asked for: name, waiting, delayed, active, completed,
--          failed, dead (int), oldest (seconds, float8), paused (boolean)
SELECT q.name,
    count(*) FILTER (WHERE j.state < 'active' AND j.start_after <= now())::int AS waiting,
    count(*) FILTER (WHERE j.state < 'active' AND j.start_after > now())::int AS delayed,
    count(*) FILTER (WHERE j.state = 'active')::int AS active,
    count(*) FILTER (WHERE j.state = 'completed')::int AS completed,
    count(*) FILTER (WHERE j.state = 'failed')::int AS failed,
    COALESCE(extract(epoch FROM now() - min(j.start_after) FILTER (WHERE j.state < 'active' AND j.start_after <= now())), 0)::float8 AS oldest,
    (SELECT count(*) FROM {schema}.job d WHERE d.name = q.name || '-dlq' AND d.state < 'active')::int AS dead,
    EXISTS (SELECT 1 FROM {schema}.conveyor_paused p WHERE p.queue = q.name) AS paused
  FROM unnest($1::text[]) AS q(name) LEFT JOIN {schema}.job j ON j.name = q.name
  GROUP BY q.name
