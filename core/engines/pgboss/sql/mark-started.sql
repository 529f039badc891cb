-- Prefetched jobs whose run has started: from now on a crash counts as a stall.
-- $1 text    queue
-- $2 uuid[]  job ids
-- returns nothing
UPDATE {schema}.job SET output = output - 'prefetched'
  WHERE name = $1 AND id = ANY($2::uuid[]) AND state = 'active'
