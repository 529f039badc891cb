-- Make a delayed job due now (bulk action `promote`).
-- $1 text  queue
-- $2 uuid  job id
-- returns: 0 rows (not waiting for a later time) or 1 (id)
UPDATE {schema}.job SET start_after = now()
  WHERE name = $1 AND id = $2 AND state IN ('created', 'retry') AND start_after > now()
  RETURNING id
