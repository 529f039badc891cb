-- Grant up to $2 job starts of queue $1 in the current fixed window of $4 ms, at most $3 per window, across
-- every worker process: the row lock (FOR UPDATE in the subquery, which also yields the row's values
-- before this update) serialises them, and the window comes from the database clock, so the workers'
-- clocks do not matter. A window never moves back (a slow caller cannot reopen an old one).
-- $1 queue text, $2 wanted int, $3 max per window int, $4 window length ms bigint
-- returns granted int, window_start bigint, retry_ms bigint (what is left of the window; for when nothing was granted)
UPDATE {schema}.conveyor_rate r
SET window_start = GREATEST(o.window_start, c.win),
    used = CASE WHEN o.window_start >= c.win THEN o.used ELSE 0 END
         + GREATEST(0, LEAST($2::int, $3::int - CASE WHEN o.window_start >= c.win THEN o.used ELSE 0 END))
FROM (SELECT window_start, used FROM {schema}.conveyor_rate WHERE queue = $1 FOR UPDATE) o,
     (SELECT now_ms, now_ms - (now_ms % $4::bigint) AS win
        FROM (SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms) t) c
WHERE r.queue = $1
RETURNING r.used - CASE WHEN o.window_start >= c.win THEN o.used ELSE 0 END AS granted,
          r.window_start,
          GREATEST(1, r.window_start + $4::bigint - c.now_ms) AS retry_ms
