-- A group's override.
-- $1 text queue, $2 text group (null: every group of the queue)
-- returns grp, override
SELECT grp, override FROM {schema}.conveyor_group WHERE queue = $1 AND ($2::text IS NULL OR grp = $2) AND override IS NOT NULL
