-- Claim a slot for this replica (node-cron's RunCoordinator): succeeds when nobody holds it or the
-- holder's claim expired.
-- $1 text  slot key
-- $2 int   claim length in ms
-- returns key text (no row: someone else holds it)
INSERT INTO {schema}.conveyor_schedule_lock AS l (key, expires_at) VALUES ($1, now() + $2 * interval '1 millisecond')
  ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE l.expires_at < now()
  RETURNING key
