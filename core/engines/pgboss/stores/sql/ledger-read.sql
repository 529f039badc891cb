-- What holds a key that could not be claimed.
-- $1 text  key
-- returns state text, record jsonb, left_ms bigint (until the row expires) (no row: it expired meanwhile)
SELECT state, record, GREATEST(0, EXTRACT(EPOCH FROM (expires_at - now())) * 1000)::bigint AS left_ms
  FROM {schema}.{table} WHERE key = $1
