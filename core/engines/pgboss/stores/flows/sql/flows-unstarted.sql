-- Running flows created before $1 whose roots were never marked enqueued, oldest first.
-- $1 before ms bigint, $2 limit int; returns id
SELECT id FROM {schema}.conveyor_flow
WHERE NOT started AND state = 'running' AND created_at < to_timestamp($1::bigint / 1000.0)
ORDER BY created_at LIMIT $2::int
