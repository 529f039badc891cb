-- Replace a still-delayed job's data and run time (a debounced repeat, core/unique.ts): only while it is
-- waiting for its time; a job that came due, started or finished is left alone (no row returned).
-- $1 queue text, $2 id uuid, $3 data jsonb, $4 delay ms numeric; returns id
UPDATE {schema}.job SET data = $3::jsonb, start_after = now() + make_interval(secs => $4::numeric / 1000)
WHERE name = $1 AND id = $2::uuid AND state = 'created' AND start_after > now()
RETURNING id
