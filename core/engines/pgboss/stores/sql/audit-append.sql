-- Append one audit entry.
-- $1 bigint at (ms)  $2 text id  $3 text actor  $4 text action  $5 text target  $6 text outcome  $7 text via
-- $8 text request id  $9 jsonb the entry
-- returns nothing
INSERT INTO {schema}.conveyor_audit (at_ms, id, actor, action, target, outcome, via, request_id, entry) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING
