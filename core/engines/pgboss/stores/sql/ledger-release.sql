-- Drop a claim, only while it is ours (a record is never dropped).
-- $1 text  key
-- $2 text  our claim token
-- returns nothing
DELETE FROM {schema}.{table} WHERE key = $1 AND state = 'sending' AND token = $2
