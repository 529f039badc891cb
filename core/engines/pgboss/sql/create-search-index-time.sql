-- Job search: a queue's jobs newest first, from a cursor (search-jobs.sql). On the partitioned parent, so
-- every partition has it (pg-boss attaches new ones with it). Idempotent; the release step runs it.
-- returns nothing
CREATE INDEX IF NOT EXISTS conveyor_job_search_time ON {schema}.job (name, created_on DESC, id DESC)
