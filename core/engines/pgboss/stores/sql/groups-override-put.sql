-- Set a group's override (replacing the one before).
-- $1 text queue, $2 text group, $3 jsonb override
-- returns nothing
INSERT INTO {schema}.conveyor_group (queue, grp, override) VALUES ($1, $2, $3::jsonb)
ON CONFLICT (queue, grp) DO UPDATE SET override = EXCLUDED.override
