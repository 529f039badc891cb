-- A flow's jobs in request order, without their specs.
-- $1 flow id text; returns key, job_id, name, parents, remaining, final
SELECT key, job_id, name, parents, remaining, final FROM {schema}.conveyor_flow_job WHERE flow_id = $1 ORDER BY idx
