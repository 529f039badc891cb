-- The queues that are paused (pg-boss has no pause). {schema} is the engine's schema.
-- no parameters; returns nothing
CREATE TABLE IF NOT EXISTS {schema}.conveyor_paused (queue text PRIMARY KEY, paused_at timestamptz NOT NULL DEFAULT now())
