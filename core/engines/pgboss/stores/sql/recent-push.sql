-- Add a document as the newest and drop all but the newest `cap`.
-- $1 text   id
-- $2 jsonb  document
-- $3 int    cap
-- returns nothing
WITH ins AS (INSERT INTO {schema}.{table} (id, received_at, mail) VALUES ($1, now(), $2) RETURNING seq)
DELETE FROM {schema}.{table} WHERE seq <= (SELECT seq FROM ins) - $3
