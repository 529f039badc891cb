-- The per-queue start windows behind global rate limits (the consumer's `rateLimit`): one row per queue,
-- the current fixed window's start (ms since the epoch, by the database clock) and the starts granted in it.
-- no parameters; returns nothing
CREATE TABLE IF NOT EXISTS {schema}.conveyor_rate (queue text PRIMARY KEY, window_start bigint NOT NULL, used integer NOT NULL)
