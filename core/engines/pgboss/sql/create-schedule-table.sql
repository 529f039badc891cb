-- The scheduler's schedules (core/engines/pgboss/stores/schedules.ts).
-- no parameters; returns nothing
CREATE TABLE IF NOT EXISTS {schema}.conveyor_schedule (name text PRIMARY KEY, definition jsonb NOT NULL)
