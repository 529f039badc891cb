-- Jobs whose run has started in this worker: from now on a crash counts as a stall. The mark is the
-- row's retry_count at the start, so a mark left by an earlier attempt never counts for a later fetch.
-- Jobs fetched ahead and not started carry no mark: a crash gives them back untouched.
-- $1 text    queue
-- $2 uuid[]  job ids
-- returns nothing
UPDATE {schema}.job SET output = COALESCE(output, '{}'::jsonb) || jsonb_build_object('started', retry_count)
  WHERE name = $1 AND id = ANY($2::uuid[]) AND state = 'active'
