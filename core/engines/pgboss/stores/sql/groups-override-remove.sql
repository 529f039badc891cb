-- Clear a group's override.
-- $1 text queue, $2 text group
-- returns grp when there was one
UPDATE {schema}.conveyor_group SET override = NULL WHERE queue = $1 AND grp = $2 AND override IS NOT NULL RETURNING grp
