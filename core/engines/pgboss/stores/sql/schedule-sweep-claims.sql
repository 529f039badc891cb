-- Drop the claims of long-past slots.
-- no parameters; returns nothing
DELETE FROM {schema}.conveyor_schedule_lock WHERE expires_at < now() - interval '1 hour'
