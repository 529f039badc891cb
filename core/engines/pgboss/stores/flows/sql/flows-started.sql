-- Flow $1's roots are enqueued.
-- $1 id text; returns nothing
UPDATE {schema}.conveyor_flow SET started = true WHERE id = $1
