-- Merge fields into a running job's output (progress, log), while the job is still ours (active).
-- $1 text   queue
-- $2 uuid   job id
-- $3 jsonb  the fields, e.g. {"progress": 40} or {"progress": 40, "log": [...]}
-- returns nothing
UPDATE {schema}.job SET output = COALESCE(output, '{}'::jsonb) || $3::jsonb
  WHERE name = $1 AND id = $2 AND state = 'active'
