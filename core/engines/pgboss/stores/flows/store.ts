// FlowStore on Postgres (core/flows/types.ts), in the engine's schema: conveyor_flow (one row per flow) and
// conveyor_flow_job (one per job), created on first use. create is one statement (all or nothing); finish is
// one statement (sql/flows-finish.sql) that locks the flow's row first (concurrent finishes of one flow, fan-in
// included, queue up instead of deadlocking), records the end once and counts it off the children.
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

  async finish(id: string, key: string, end: JobFinish): Promise<FinishResult | null> {
    const pool = await this.pool();
    const failed = end.state === 'completed' ? 0 : 1;
    type Row = Counts & { key: string | null; remaining: number; failed_parents: number; final: FlowJobFinal | null };
    const rows = (await pool.query<Row>(this.sql.finish, [id, key, end.state, JSON.stringify(end), failed])).rows;
    const first = rows[0];
    if (first) {
      const children = rows.filter((r): r is Row & { key: string } => r.key !== null).map(childOf);
      return { first: true, children, state: first.state, finished: first.finished, total: first.total, failed: first.failed };
    }
    // already recorded (a re-run after a crash): the counts as they are
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
