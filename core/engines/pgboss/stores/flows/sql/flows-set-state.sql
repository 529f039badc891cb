-- Move running flow $1 to state $2 (it ends now).
-- $1 id text, $2 state text; returns id when it moved
UPDATE {schema}.conveyor_flow SET state = $2, ended_at = now() WHERE id = $1 AND state = 'running' RETURNING id
