-- A key's record while it lives.
-- $1 text  key
-- returns record jsonb (no row: not done, or expired)
SELECT record FROM {schema}.{table} WHERE key = $1 AND state = 'sent' AND expires_at > now()
