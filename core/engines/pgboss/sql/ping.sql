-- Is the database there?
-- no parameters; returns one row
SELECT 1
