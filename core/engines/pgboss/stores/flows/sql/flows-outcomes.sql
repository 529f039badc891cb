-- The recorded ends of jobs $2 of flow $1 (those that ended).
-- $1 flow id text, $2 keys text[]; returns key, outcome
SELECT key, outcome FROM {schema}.conveyor_flow_job WHERE flow_id = $1 AND key = ANY($2::text[]) AND final IS NOT NULL
