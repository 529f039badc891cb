-- The throughput counters' table (and the schema, which may not exist yet: no pg-boss start needed).
-- no parameters; returns nothing
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.conveyor_throughput (queue text NOT NULL, bucket bigint NOT NULL, n bigint NOT NULL, PRIMARY KEY (queue, bucket))
