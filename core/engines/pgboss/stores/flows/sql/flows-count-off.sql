-- Count an ended parent off children $2 of flow $1 (a failed one also in failed_parents when $3 is 1).
-- $1 flow id text, $2 keys text[], $3 failed 0|1; returns each child's counts after
UPDATE {schema}.conveyor_flow_job SET remaining = remaining - 1, failed_parents = failed_parents + $3::int
WHERE flow_id = $1 AND key = ANY($2::text[])
RETURNING key, remaining, failed_parents, final
