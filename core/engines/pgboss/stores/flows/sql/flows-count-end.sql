-- Count one more ended job (and failed one, when $2 is 1) on flow $1.
-- $1 id text, $2 failed 0|1; returns the counts after
UPDATE {schema}.conveyor_flow SET finished = finished + 1, failed = failed + $2::int WHERE id = $1
RETURNING state, finished, total, failed
