-- Group limits (core/groups/, docs/groups.md): conveyor_group (one row per queue and group: its override and
-- the next start its rate allows; the row lock orders every step of the group), conveyor_group_job (parked
-- jobs: held_since null; slots: held_since set), and conveyor_group_step, one step of a group: park ids or free a
-- slot, then release what fits (make parked jobs due, at their rate slot, and NOTIFY the consumers). A free commits
-- asynchronously (no WAL flush wait): one lost to a database crash leaves a slot the reaper repairs.
-- Under an advisory lock: processes starting together do not race on CREATE OR REPLACE FUNCTION.
-- no parameters; returns nothing
DO $do$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('{schema}.conveyor_group'));
  CREATE TABLE IF NOT EXISTS {schema}.conveyor_group (
    queue text NOT NULL, grp text NOT NULL, override jsonb, next_at timestamptz, PRIMARY KEY (queue, grp));
  CREATE TABLE IF NOT EXISTS {schema}.conveyor_group_job (
    queue text NOT NULL, grp text NOT NULL, job_id uuid NOT NULL, ready_at timestamptz NOT NULL,
    held_since timestamptz, seq bigserial NOT NULL, PRIMARY KEY (queue, job_id));
  CREATE INDEX IF NOT EXISTS conveyor_group_job_parked ON {schema}.conveyor_group_job (queue, grp, ready_at, seq) WHERE held_since IS NULL;
  CREATE INDEX IF NOT EXISTS conveyor_group_job_held ON {schema}.conveyor_group_job (queue, held_since) WHERE held_since IS NOT NULL;
  CREATE INDEX IF NOT EXISTS conveyor_group_job_slots ON {schema}.conveyor_group_job (queue, grp) WHERE held_since IS NOT NULL;
  CREATE OR REPLACE FUNCTION {schema}.conveyor_group_step(q text, g text, dc int, dr float8, mode text, ids uuid[], delays float8[], chan text)
  RETURNS jsonb LANGUAGE plpgsql AS $f$
  DECLARE
    st record; conc int; rate float8; paused boolean; room int; nxt timestamptz; at timestamptz;
    r record; freed boolean := false; out float8[] := '{}'; n int; s text;
  BEGIN
    SELECT * INTO st FROM {schema}.conveyor_group WHERE queue = q AND grp = g FOR UPDATE;
    IF NOT FOUND THEN
      INSERT INTO {schema}.conveyor_group (queue, grp) VALUES (q, g) ON CONFLICT DO NOTHING;
      SELECT * INTO st FROM {schema}.conveyor_group WHERE queue = q AND grp = g FOR UPDATE;
    END IF;
    IF mode = 'park' THEN
      INSERT INTO {schema}.conveyor_group_job (queue, grp, job_id, ready_at)
        SELECT q, g, u.i, now() + make_interval(secs => u.d / 1000) FROM unnest(ids, delays) AS u(i, d)
        ON CONFLICT DO NOTHING;
    ELSIF mode = 'free' THEN
      PERFORM set_config('synchronous_commit', 'off', true);
      -- a parked job that reached a final state without running (cancelled) leaves the list too; only a held
      -- slot frees room
      DELETE FROM {schema}.conveyor_group_job WHERE queue = q AND job_id = ids[1] AND held_since IS NULL;
      DELETE FROM {schema}.conveyor_group_job WHERE queue = q AND job_id = ids[1] AND held_since IS NOT NULL;
      GET DIAGNOSTICS n = ROW_COUNT;
      IF n = 0 THEN RETURN jsonb_build_object('freed', false, 'delays', '[]'::jsonb); END IF;
      freed := true;
    END IF;
    conc := coalesce((st.override->>'concurrency')::int, dc);
    rate := coalesce((st.override->>'ratePerSecond')::float8, dr);
    paused := coalesce((st.override->>'paused')::boolean, false);
    nxt := greatest(coalesce(st.next_at, now()), now());
    IF NOT paused THEN
      SELECT conc - count(*) INTO room FROM {schema}.conveyor_group_job WHERE queue = q AND grp = g AND held_since IS NOT NULL;
      FOR r IN SELECT job_id FROM {schema}.conveyor_group_job
          WHERE queue = q AND grp = g AND held_since IS NULL AND ready_at <= now()
          ORDER BY ready_at, seq LIMIT greatest(room, 0) + 100 LOOP
        EXIT WHEN room <= 0;
        at := CASE WHEN rate > 0 THEN nxt ELSE now() END;
        UPDATE {schema}.job SET start_after = at
          WHERE name = q AND id = r.job_id AND state = 'created' AND start_after > now() + interval '1 year';
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n = 0 THEN
          SELECT state::text INTO s FROM {schema}.job WHERE name = q AND id = r.job_id;
          IF s IS NULL OR s IN ('completed', 'failed', 'cancelled') THEN
            DELETE FROM {schema}.conveyor_group_job WHERE queue = q AND job_id = r.job_id;
            CONTINUE;
          END IF;
        END IF;
        UPDATE {schema}.conveyor_group_job SET held_since = now() WHERE queue = q AND job_id = r.job_id;
        room := room - 1;
        IF rate > 0 THEN nxt := at + make_interval(secs => 1 / rate); END IF;
        out := out || (extract(epoch FROM at - now()) * 1000)::float8;
      END LOOP;
    END IF;
    IF rate > 0 THEN UPDATE {schema}.conveyor_group SET next_at = nxt WHERE queue = q AND grp = g; END IF;
    IF cardinality(out) > 0 THEN PERFORM pg_notify(chan, q); END IF;
    RETURN jsonb_build_object('freed', freed, 'delays', to_jsonb(out));
  END
  $f$;
END
$do$
