-- Dead letters of some queues, newest first.
-- $1 text[]  dead-letter queues (`<queue>-dlq`)
-- $2 int     limit
-- returns: rows (id, name, data, created_on, source_id, source_output): ours carry the letter in data;
--          pg-boss's own copies (heartbeat/expiry deaths) carry the job's data and its source output
SELECT id, name, data, created_on, source_id, source_output FROM {schema}.job
  WHERE name = ANY($1) AND state < 'active' ORDER BY created_on DESC LIMIT $2
