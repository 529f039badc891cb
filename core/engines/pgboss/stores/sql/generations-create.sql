-- A generations table (stores/generations.ts): key → generation, with the time its record lapses.
-- no parameters; returns nothing
CREATE TABLE IF NOT EXISTS {schema}.{table} (key text PRIMARY KEY, gen integer NOT NULL, expires_at timestamptz NOT NULL)
