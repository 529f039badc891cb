-- The throughput counters' tables, 10-second buckets and the charts' minutes (and the schema, which may not exist yet: no pg-boss start needed).
-- One transaction under pg-boss's own install lock (the advisory key pg-boss's `locked()` derives from the
-- schema name), so this CREATE SCHEMA never races pg-boss's install of the same schema.
-- no parameters; returns nothing
BEGIN;
SELECT pg_advisory_xact_lock(('x' || encode(sha224((current_database() || '.pgboss.{schema}')::bytea), 'hex'))::bit(64)::bigint);
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.conveyor_throughput (queue text NOT NULL, bucket bigint NOT NULL, n bigint NOT NULL, PRIMARY KEY (queue, bucket));
CREATE TABLE IF NOT EXISTS {schema}.conveyor_queue_minute (queue text NOT NULL, minute bigint NOT NULL, n bigint NOT NULL, failed bigint NOT NULL, run_ms bigint NOT NULL, PRIMARY KEY (queue, minute));
COMMIT
