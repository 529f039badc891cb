-- Record how job $2 of flow $1 ended, once. Returns its children only when this call recorded it.
-- $1 flow id text, $2 key text, $3 final text, $4 outcome jsonb; returns children
UPDATE {schema}.conveyor_flow_job SET final = $3, outcome = $4::jsonb
WHERE flow_id = $1 AND key = $2 AND final IS NULL
RETURNING children
