-- The newest documents, newest first.
-- $1 int  limit
-- returns mail jsonb
SELECT mail FROM {schema}.{table} ORDER BY seq DESC LIMIT $1
