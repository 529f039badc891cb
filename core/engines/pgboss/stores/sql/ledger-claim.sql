-- Claim a key when it is absent or its row expired (a lapsed claim, a record past its TTL).
-- $1 text  key
-- $2 text  our claim token
-- $3 int   lease in ms
-- returns key text (no row: it is claimed or done)
INSERT INTO {schema}.{table} AS t (key, state, token, record, expires_at)
  VALUES ($1, 'sending', $2, NULL, now() + $3 * interval '1 millisecond')
  ON CONFLICT (key) DO UPDATE SET state = 'sending', token = excluded.token, record = NULL, expires_at = excluded.expires_at
    WHERE t.expires_at <= now()
  RETURNING key
