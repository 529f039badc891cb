-- Cancel a job that has not finished (waiting, delayed, retrying or active), in one statement.
-- $1 text[]  queues to look in
-- $2 uuid    job id
-- returns: 0 rows (no such job) or 1: state (text, before the cancel), updated (int, 1 when cancelled now)
WITH prev AS (SELECT name, id, state FROM {schema}.job WHERE name = ANY($1) AND id = $2 FOR UPDATE),
upd AS (UPDATE {schema}.job j SET state = 'cancelled', completed_on = now(),
        deletion_seconds = COALESCE((j.data->'$conveyor'->'retention'->>'failedSeconds')::int, j.deletion_seconds)
        FROM prev WHERE j.name = prev.name AND j.id = prev.id AND prev.state < 'completed' RETURNING j.id)
SELECT prev.state::text AS state, (SELECT count(*) FROM upd)::int AS updated FROM prev
