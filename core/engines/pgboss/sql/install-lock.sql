-- Our install of a schema (tables, queues) one process at a time: a session advisory lock on a key of
-- our own derived from the schema name (not pg-boss's install key, which pg-boss takes inside createQueue).
-- no parameters; returns nothing
SELECT pg_advisory_lock(('x' || encode(sha224((current_database() || '.conveyor-install.{schema}')::bytea), 'hex'))::bit(64)::bigint)
