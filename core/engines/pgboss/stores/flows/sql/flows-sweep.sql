-- Remove up to 500 flows (and their jobs, by cascade) that ended before $1.
-- $1 before ms bigint; returns id per removed flow
DELETE FROM {schema}.conveyor_flow WHERE id IN (
  SELECT id FROM {schema}.conveyor_flow WHERE ended_at < to_timestamp($1::bigint / 1000.0) LIMIT 500
) RETURNING id
