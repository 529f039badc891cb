-- The children of job $2 of flow $1 with their counts (nothing changed).
-- $1 flow id text, $2 key text; returns key, remaining, failed_parents, final
SELECT c.key, c.remaining, c.failed_parents, c.final
FROM {schema}.conveyor_flow_job p
JOIN {schema}.conveyor_flow_job c ON c.flow_id = p.flow_id AND c.key = ANY(p.children)
WHERE p.flow_id = $1 AND p.key = $2
