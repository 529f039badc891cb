-- Priority aging (docs/engines.md "Priorities"): a waiting job of queue $1 runs as if its priority were
-- `priority − floor(waited / $2 ms)` (ours: 1 most urgent; pg-boss's column runs 10 first, so the column
-- rises), from the priority it was enqueued with (meta `priority`). At most $3 of the oldest ready jobs a
-- sweep; rows another sweep holds are skipped. Plain pg-boss sends (no meta priority) are not aged.
-- $1 queue text, $2 aging ms numeric, $3 limit int; returns nothing
UPDATE {schema}.job j
SET priority = t.target
FROM (
  SELECT id, LEAST(10, 11 - (data->'$conveyor'->>'priority')::int
                       + floor(extract(epoch FROM (now() - start_after)) * 1000 / $2::numeric)::int) AS target
  FROM {schema}.job
  WHERE name = $1 AND state IN ('created', 'retry') AND priority < 10 AND start_after < now() - make_interval(secs => $2::numeric / 1000)
    AND jsonb_typeof(data->'$conveyor'->'priority') = 'number'
  ORDER BY created_on
  LIMIT $3
  FOR UPDATE SKIP LOCKED
) t
WHERE j.name = $1 AND j.id = t.id AND t.target > j.priority
