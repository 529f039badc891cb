-- Jobs fetched ahead of free slots: flagged so that, should the worker die before they start, stall
-- recovery gives them back untouched (no stall counted).
-- $1 text    queue
-- $2 uuid[]  job ids
-- returns nothing
UPDATE {schema}.job SET output = COALESCE(output, '{}'::jsonb) || '{"prefetched": true}'::jsonb
  WHERE name = $1 AND id = ANY($2::uuid[]) AND state = 'active'
