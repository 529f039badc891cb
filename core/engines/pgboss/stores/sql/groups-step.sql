-- One step of a group (conveyor_group_step, groups-create.sql).
-- $1 text queue, $2 text group, $3 int default concurrency, $4 float8 default rate per second (0 = none),
-- $5 text mode (park | free | fill), $6 uuid[] ids (park: the parked jobs; free: the one freed), $7 float8[] delays ms (park),
-- $8 text the channel to NOTIFY (pg-boss's job-created channel)
-- returns one row: r jsonb { freed, delays: ms until each released job is due }
SELECT {schema}.conveyor_group_step($1, $2, $3, $4, $5, $6::uuid[], $7::float8[], $8) AS r
