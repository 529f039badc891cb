-- The queue's row in conveyor_rate, made once when a rate-limited consumer starts (rate-take needs it).
-- $1 queue text; returns nothing
INSERT INTO {schema}.conveyor_rate (queue, window_start, used) VALUES ($1, 0, 0) ON CONFLICT (queue) DO NOTHING
