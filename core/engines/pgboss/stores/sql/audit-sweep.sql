-- Remove audit entries older than the retention.
-- $1 bigint  the oldest at_ms kept
-- returns nothing (rowCount: how many were removed)
DELETE FROM {schema}.conveyor_audit WHERE at_ms < $1
