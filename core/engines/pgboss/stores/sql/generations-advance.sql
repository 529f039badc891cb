-- Move key $1 from generation $2 to $2 + 1 (a lapsed record counts as generation 0), unless another
-- process already moved it; the record then lives $3 seconds. Returns the row only when it moved.
-- $1 key text, $2 from int, $3 ttl seconds int; returns gen
INSERT INTO {schema}.{table} AS t (key, gen, expires_at) VALUES ($1, $2::int + 1, now() + make_interval(secs => $3::int))
ON CONFLICT (key) DO UPDATE SET gen = $2::int + 1, expires_at = EXCLUDED.expires_at
WHERE (CASE WHEN t.expires_at > now() THEN t.gen ELSE 0 END) = $2::int
RETURNING gen
