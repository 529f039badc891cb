// FlowStore on Postgres (core/flows/types.ts), in the engine's schema: conveyor_flow (one row per flow) and
// conveyor_flow_job (one per job), created on first use. create is one statement (all or nothing); finish is
// one statement (sql/flows-finish.sql) for every end of one flow this process has at the time (./finish-batch.ts)
// that locks the flow's row first (concurrent finishes of one flow, fan-in included, queue up instead of
// deadlocking), records each end once and counts it off the children.
// Statements in ./sql/flows-*.sql, one a file, each with a header naming its parameters.
import { readdirSync, readFileSync } from 'node:fs';
import type {
  FinishResult,
  FlowJobFinal,
  FlowJobSpec,
  FlowRecord,
  FlowState,
  FlowStore,
  JobFinish,
  NewFlow,
} from '../../../../flows/types.ts';
import { ensureTables, type PgStore } from '../tables.ts';
import { type End, FinishBatcher } from './finish-batch.ts';

const dir = new URL('./sql/', import.meta.url);
const templates = Object.fromEntries(
  readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => [
      f.slice('flows-'.length, -4),
      readFileSync(new URL(f, dir), 'utf8')
        .replace(/^--.*\n/gm, '')
        .trim(),
    ]),
);
const NAMES = [
  'create',
  'insert',
  'finish',
  'counts',
  'children',
  'specs',
  'outcomes',
  'get',
  'jobs',
  'started',
  'set-state',
  'unstarted',
  'sweep',
] as const;
for (const n of NAMES) if (!templates[n]) throw new Error(`pg-boss flow store: sql/flows-${n}.sql is missing`);

interface Counts {
  state: FlowState;
  finished: number;
  total: number;
  failed: number;
}

interface ChildRow {
  key: string;
  remaining: number;
  failed_parents: number;
  final: FlowJobFinal | null;
}

const childOf = (r: ChildRow) => ({ key: r.key, remaining: r.remaining, failedParents: r.failed_parents, final: r.final });

export class PostgresFlowStore implements FlowStore {
  private readonly sql: Record<(typeof NAMES)[number], string>;
  private readonly batcher = new FinishBatcher((id, ends) => this.finishMany(id, ends));

  constructor(private readonly store: PgStore) {
    this.sql = Object.fromEntries(NAMES.map((n) => [n, (templates[n] as string).replaceAll('{schema}', store.schema)])) as Record<
      (typeof NAMES)[number],
      string
    >;
  }

  private async pool() {
    await ensureTables(this.store, this.sql.create);
    return this.store.pool;
  }

  async create(flow: NewFlow) {
    const jobs = flow.jobs.map((j) => ({
      key: j.key,
      idx: j.index,
      job_id: j.id,
      name: j.name,
      parents: j.parents,
      children: j.children,
      spec: j,
    }));
    await (await this.pool()).query(this.sql.insert, [flow.id, flow.createdAt, flow.jobs.length, JSON.stringify(jobs)]);
  }

  async markStarted(id: string) {
    await (await this.pool()).query(this.sql.started, [id]);
  }

  finish(id: string, key: string, end: JobFinish): Promise<FinishResult | null> {
    return this.batcher.finish(id, key, end);
  }

  /** Ends of one flow in one statement (./finish-batch.ts batches them); each key's result as if written alone in turn. */
  private async finishMany(id: string, ends: End[]): Promise<Map<string, FinishResult | null>> {
    const pool = await this.pool();
    const batch = ends.map(({ key, end }) => ({ key, final: end.state, outcome: end, failed: end.state === 'completed' ? 0 : 1 }));
    type Recorded = { key: string; children: string[]; failed: number };
    type Row = Counts & { recorded: Recorded[]; kids: ChildRow[] };
    const row = (await pool.query<Row>(this.sql.finish, [id, JSON.stringify(batch)])).rows[0];
    const out = new Map<string, FinishResult | null>();
    if (row) {
      // as if the ends were written one by one in this order: each sees the counts after its own, and a
      // child shared by several goes to the last of them (only that one would have seen its final count)
      const owner = new Map<string, string>();
      for (const r of row.recorded) for (const c of r.children) owner.set(c, r.key);
      const kids = new Map(row.kids.map((k) => [k.key, childOf(k)]));
      let finished = row.finished - row.recorded.length;
      let failed = row.failed - row.recorded.reduce((n, r) => n + r.failed, 0);
      for (const r of row.recorded) {
        finished += 1;
        failed += r.failed;
        const children = r.children.filter((c) => owner.get(c) === r.key).flatMap((c) => kids.get(c) ?? []);
        out.set(r.key, { first: true, children, state: row.state, finished, total: row.total, failed });
      }
    }
    // already recorded (a re-run after a crash): the counts as they are
    await Promise.all(ends.filter((e) => !out.has(e.key)).map(async (e) => out.set(e.key, await this.current(id, e.key))));
    return out;
  }

  private async current(id: string, key: string): Promise<FinishResult | null> {
    const pool = await this.pool();
    const [counts, children] = await Promise.all([
      pool.query<Counts>(this.sql.counts, [id]),
      pool.query<ChildRow>(this.sql.children, [id, key]),
    ]);
    const c = counts.rows[0];
    return c ? { first: false, children: children.rows.map(childOf), ...c } : null;
  }

  async specs(id: string, keys: string[]) {
    if (keys.length === 0) return [];
    return (await (await this.pool()).query<{ spec: FlowJobSpec }>(this.sql.specs, [id, keys])).rows.map((r) => r.spec);
  }

  async outcomes(id: string, keys: string[]) {
    const out: Record<string, JobFinish> = {};
    if (keys.length === 0) return out;
    for (const r of (await (await this.pool()).query<{ key: string; outcome: JobFinish }>(this.sql.outcomes, [id, keys])).rows) {
      out[r.key] = r.outcome;
    }
    return out;
  }

  async get(id: string): Promise<FlowRecord | null> {
    const pool = await this.pool();
    const [flow, jobs] = await Promise.all([
      pool.query<{ state: FlowState; started: boolean; created_ms: string }>(this.sql.get, [id]),
      pool.query<{ key: string; job_id: string; name: string; parents: string[]; remaining: number; final: FlowJobFinal | null }>(
        this.sql.jobs,
        [id],
      ),
    ]);
    const f = flow.rows[0];
    if (!f) return null;
    return {
      id,
      state: f.state,
      started: f.started,
      createdAt: Number(f.created_ms),
      jobs: jobs.rows.map((j) => ({ key: j.key, id: j.job_id, name: j.name, parents: j.parents, remaining: j.remaining, final: j.final })),
    };
  }

  async setState(id: string, to: Exclude<FlowState, 'running'>) {
    return ((await (await this.pool()).query(this.sql['set-state'], [id, to])).rowCount ?? 0) === 1;
  }

  async unstarted(beforeMs: number, limit: number) {
    return (await (await this.pool()).query<{ id: string }>(this.sql.unstarted, [beforeMs, limit])).rows.map((r) => r.id);
  }

  async sweep(beforeMs: number) {
    return (await (await this.pool()).query(this.sql.sweep, [beforeMs])).rowCount ?? 0;
  }
}
