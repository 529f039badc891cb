-- Free many slots of a queue in one statement (the group settler's batch): conveyor_group_free_many
-- (groups-create.sql), which locks the batch's groups in group order (no deadlock between batches).
-- $1 text queue, $2 int default concurrency, $3 float8 default rate, $4 text[] groups, $5 uuid[] job ids (parallel),
-- $6 text the channel to NOTIFY
-- returns k (1-based position in the arrays), r jsonb { freed, delays }
SELECT f.k, f.r FROM {schema}.conveyor_group_free_many($1, $2, $3, $4::text[], $5::uuid[], $6) AS f
