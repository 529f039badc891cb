-- Releases install-lock.sql's lock (held by the same session).
-- no parameters; returns nothing
SELECT pg_advisory_unlock(('x' || encode(sha224((current_database() || '.conveyor-install.{schema}')::bytea), 'hex'))::bit(64)::bigint)
