-- Drop every document.
-- no parameters; returns nothing
DELETE FROM {schema}.{table}
