-- The generation of key $1 (none, or a lapsed record: no row).
-- $1 key text; returns gen
SELECT gen FROM {schema}.{table} WHERE key = $1 AND expires_at > now()
