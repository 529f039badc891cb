-- A flow's row.
-- $1 id text; returns state, started, created_ms
SELECT state, started, (extract(epoch FROM created_at) * 1000)::bigint AS created_ms FROM {schema}.conveyor_flow WHERE id = $1
