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
    held_since timestamptz, seq bigserial NOT NULL, PRIMARY KEY (job_id, queue));
  -- job_id leads the key: a key led by queue is, to a planner holding statistics from when the list was small,
  -- as good a path to a group's parked jobs as the parked index, and walks the whole queue (lists made before
  -- this change are re-keyed once)
  IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
      WHERE i.indrelid = '{schema}.conveyor_group_job'::regclass AND i.indisprimary AND a.attname = 'queue') THEN
    ALTER TABLE {schema}.conveyor_group_job DROP CONSTRAINT conveyor_group_job_pkey, ADD PRIMARY KEY (job_id, queue);
  END IF;
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
      -- frees go through conveyor_group_free_many; this one is kept for processes of the previous release
      PERFORM set_config('synchronous_commit', 'off', true);
      -- a parked job that reached a final state without running (cancelled) leaves the list too; only a held
      -- slot frees room. One delete by the primary key: a condition on held_since would let the planner pick
      -- the partial parked index and walk every parked job of the queue (docs/groups.md, "pg-boss").
      DELETE FROM {schema}.conveyor_group_job WHERE queue = q AND job_id = ids[1]
        RETURNING held_since IS NOT NULL INTO freed;
      IF NOT coalesce(freed, false) THEN RETURN jsonb_build_object('freed', false, 'delays', '[]'::jsonb); END IF;
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
  -- Free many held slots of a queue at once (the settler's batch, groups-free-many.sql): lock the batch's groups
  -- in group order (every step and batch does: no deadlock), delete the slots (each a primary-key probe of its
  -- own: joined as a set, a planner holding statistics from when the queue was empty scans the whole queue),
  -- then one release per group that got room, by conveyor_group_step's own fill.
  CREATE OR REPLACE FUNCTION {schema}.conveyor_group_free_many(q text, dc int, dr float8, grps text[], ids uuid[], chan text)
  RETURNS TABLE (k bigint, r jsonb) LANGUAGE plpgsql AS $f$
  DECLARE
    freed_ids uuid[] := '{}'; refill text[] := '{}'; out float8[] := '{}';
    jid uuid; dg text; dh boolean; g text; st jsonb;
  BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM 1 FROM {schema}.conveyor_group cg WHERE cg.queue = q AND cg.grp = ANY(grps) ORDER BY cg.grp FOR UPDATE;
    -- a parked job that reached a final state without running (cancelled) leaves the list too; only a held
    -- slot frees room
    FOREACH jid IN ARRAY ids LOOP
      dh := NULL;
      DELETE FROM {schema}.conveyor_group_job j WHERE j.job_id = jid AND j.queue = q
        RETURNING j.grp, j.held_since IS NOT NULL INTO dg, dh;
      IF dh THEN
        freed_ids := freed_ids || jid;
        refill := refill || dg;
      END IF;
    END LOOP;
    FOR g IN SELECT DISTINCT x FROM unnest(refill) AS x ORDER BY 1 LOOP
      st := {schema}.conveyor_group_step(q, g, dc, dr, 'fill', '{}'::uuid[], '{}'::float8[], chan);
      out := out || ARRAY(SELECT jsonb_array_elements_text(st->'delays')::float8);
    END LOOP;
    RETURN QUERY
      SELECT u.k, jsonb_build_object(
        'freed', u.id = ANY(freed_ids) AND u.k = min(u.k) OVER (PARTITION BY u.id),
        'delays', CASE WHEN u.k = 1 THEN to_jsonb(out) ELSE '[]'::jsonb END)
      FROM unnest(ids) WITH ORDINALITY AS u(id, k) ORDER BY u.k;
  END
  $f$;
END
$do$
