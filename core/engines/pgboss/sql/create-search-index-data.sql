-- Job search: payload equality and the kind (conveyor_search_doc(data) @@ '$.to == "…"', search-jobs.sql
-- $7), on the payload and kind only (create-search-doc-function.sql). jsonb_path_ops is the smaller GIN
-- opclass and serves @@ / @? / @>. Idempotent; the release step runs it (and drops the index on the whole
-- envelope that came before it: drop-search-index-envelope.sql).
-- returns nothing
CREATE INDEX IF NOT EXISTS conveyor_job_search_doc ON {schema}.job USING gin ({schema}.conveyor_search_doc(data) jsonb_path_ops)
