-- Job search: payload equality and the kind (data @@ '$.to == "…"', search-jobs.sql $7). jsonb_path_ops
-- is the smaller GIN opclass and serves @@ / @? / @>. Idempotent; the release step runs it.
-- returns nothing
CREATE INDEX IF NOT EXISTS conveyor_job_search_data ON {schema}.job USING gin (data jsonb_path_ops)
