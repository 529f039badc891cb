-- The audit log's table: one row per entry, newest first by (at_ms, id).
-- no parameters; returns nothing
CREATE TABLE IF NOT EXISTS {schema}.conveyor_audit (at_ms bigint NOT NULL, id text NOT NULL, actor text NOT NULL, action text NOT NULL, target text, outcome text NOT NULL, via text NOT NULL, request_id text NOT NULL, entry jsonb NOT NULL, PRIMARY KEY (at_ms, id))
