-- Delete one job row (the dead job, before a replay reuses its id).
-- $1 text  queue
-- $2 uuid  job id
-- returns nothing
DELETE FROM {schema}.job WHERE name = $1 AND id = $2
