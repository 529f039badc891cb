-- The scheduler's slot locks (one claim per slot across replicas).
-- no parameters; returns nothing
CREATE TABLE IF NOT EXISTS {schema}.conveyor_schedule_lock (key text PRIMARY KEY, expires_at timestamptz NOT NULL)
