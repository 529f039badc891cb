-- Free many slots of a queue in one statement (the group settler's batch): one conveyor_group_step per job, in
-- group order (every batch locks group rows in the same order: no deadlock between batches).
-- $1 text queue, $2 int default concurrency, $3 float8 default rate, $4 text[] groups, $5 uuid[] job ids (parallel),
-- $6 text the channel to NOTIFY
-- returns k (1-based position in the arrays), r jsonb { freed, delays }
SELECT s.k, {schema}.conveyor_group_step($1, s.grp, $2, $3, 'free', ARRAY[s.id], '{}'::float8[], $6) AS r
FROM (SELECT u.grp, u.id, u.k FROM unnest($4::text[], $5::uuid[]) WITH ORDINALITY AS u(grp, id, k) ORDER BY u.grp, u.k) s
