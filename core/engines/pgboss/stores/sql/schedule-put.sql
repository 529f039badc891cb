-- Create or replace a runtime schedule.
-- $1 text   name
-- $2 jsonb  definition
-- returns nothing
INSERT INTO {schema}.conveyor_schedule (name, definition) VALUES ($1, $2)
  ON CONFLICT (name) DO UPDATE SET definition = excluded.definition
