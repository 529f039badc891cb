-- Hand back $2 unused grants of queue $1's window $3 (a fetch found fewer jobs than it was granted).
-- $1 queue text, $2 unused int, $3 window_start bigint; returns nothing
UPDATE {schema}.conveyor_rate SET used = GREATEST(0, used - $2::int) WHERE queue = $1 AND window_start = $3::bigint
