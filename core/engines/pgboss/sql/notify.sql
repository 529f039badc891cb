-- Send a message to every process listening on a channel (transactional: delivered at commit).
-- $1 text  channel
-- $2 text  payload (JSON)
-- returns one row (ignored)
SELECT pg_notify($1, $2)
