-- Record that a key was done, replacing any claim.
-- $1 text   key
-- $2 jsonb  record
-- $3 int    TTL in seconds
-- returns nothing
INSERT INTO {schema}.{table} AS t (key, state, token, record, expires_at)
  VALUES ($1, 'sent', NULL, $2, now() + $3 * interval '1 second')
  ON CONFLICT (key) DO UPDATE SET state = 'sent', token = NULL, record = excluded.record, expires_at = excluded.expires_at
