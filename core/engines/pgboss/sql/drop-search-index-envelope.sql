-- The job-search GIN of releases before 2026-12 indexed the whole envelope (data jsonb_path_ops); its
-- successor indexes payload and kind only (create-search-index-data.sql). Idempotent.
-- returns nothing
DROP INDEX IF EXISTS {schema}.conveyor_job_search_data
