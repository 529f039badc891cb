-- The flow store's tables (core/flows/types.ts): one row per flow, one per flow job (its stored request in
-- `spec`, its parents still running in `remaining`, how it ended in `final` + `outcome`).
-- no parameters; returns nothing
CREATE TABLE IF NOT EXISTS {schema}.conveyor_flow (
  id text PRIMARY KEY,
  state text NOT NULL DEFAULT 'running',
  started boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL,
  ended_at timestamptz,
  total int NOT NULL,
  finished int NOT NULL DEFAULT 0,
  failed int NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS {schema}.conveyor_flow_job (
  flow_id text NOT NULL REFERENCES {schema}.conveyor_flow (id) ON DELETE CASCADE,
  key text NOT NULL,
  idx int NOT NULL,
  job_id text NOT NULL,
  name text NOT NULL,
  parents text[] NOT NULL,
  children text[] NOT NULL,
  spec jsonb NOT NULL,
  remaining int NOT NULL,
  failed_parents int NOT NULL DEFAULT 0,
  final text,
  outcome jsonb,
  PRIMARY KEY (flow_id, key)
);
CREATE INDEX IF NOT EXISTS conveyor_flow_unstarted ON {schema}.conveyor_flow (created_at) WHERE NOT started;
CREATE INDEX IF NOT EXISTS conveyor_flow_ended ON {schema}.conveyor_flow (ended_at) WHERE ended_at IS NOT NULL
