-- One document.
-- $1 text  id
-- returns mail jsonb (no row: none, or dropped by the cap)
SELECT mail FROM {schema}.{table} WHERE id = $1
