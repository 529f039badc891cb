-- Lock a flow's row for the rest of the transaction (every finish of the flow takes it first: no deadlocks).
-- $1 id text; returns the flow's counts, or no row
SELECT state, finished, total, failed FROM {schema}.conveyor_flow WHERE id = $1 FOR UPDATE
