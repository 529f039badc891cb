-- A once-ledger's table: one row per key, a claim ('sending', token, lease) or a record ('sent', TTL).
-- {table}: conveyor_<ledger name>, e.g. conveyor_email_sent
-- no parameters; returns nothing
CREATE TABLE IF NOT EXISTS {schema}.{table} (
  key text PRIMARY KEY,
  state text NOT NULL CHECK (state IN ('sending', 'sent')),
  token text,
  record jsonb,
  expires_at timestamptz NOT NULL)
