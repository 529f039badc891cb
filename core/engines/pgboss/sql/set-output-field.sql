-- Set one field of a running job's output (progress, log), while the job is still ours (active).
-- $1 text   queue
-- $2 uuid   job id
-- $3 text   field name
-- $4 jsonb  value
-- returns nothing
UPDATE {schema}.job SET output = COALESCE(output, '{}'::jsonb) || jsonb_build_object($3::text, $4::jsonb)
  WHERE name = $1 AND id = $2 AND state = 'active'
