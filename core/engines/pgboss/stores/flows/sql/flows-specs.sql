-- The stored specs of jobs $2 of flow $1.
-- $1 flow id text, $2 keys text[]; returns spec
SELECT spec FROM {schema}.conveyor_flow_job WHERE flow_id = $1 AND key = ANY($2::text[])
