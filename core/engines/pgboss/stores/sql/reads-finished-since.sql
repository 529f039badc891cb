-- Jobs of one queue that finished within the window: completed, and failed for good (dead-lettered or
-- cancelled; a retried attempt stays in `retry`, so it is not counted), as the dashboard's last hour shows.
-- $1 text    the queue
-- $2 float8  the window in seconds
-- returns completed int, failed int
SELECT count(*) FILTER (WHERE state = 'completed')::int AS completed,
       count(*) FILTER (WHERE state IN ('failed', 'cancelled'))::int AS failed
  FROM {schema}.job WHERE name = $1 AND completed_on >= now() - make_interval(secs => $2)
