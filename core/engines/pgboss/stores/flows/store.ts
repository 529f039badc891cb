// FlowStore on Postgres (core/flows/types.ts), in the engine's schema: conveyor_flow (one row per flow) and
// conveyor_flow_job (one per job), created on first use. create is one statement (all or nothing); finish is
// one transaction that locks the flow's row first (so concurrent finishes of one flow, fan-in included, queue
// up instead of deadlocking), records the end once and counts it off the children.
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
  'lock',
  'record-end',
  'count-end',
  'count-off',
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
    const client = await (await this.pool()).connect();
    try {
      await client.query('BEGIN');
      const flow = await client.query<{ state: FlowState; finished: number; total: number; failed: number }>(this.sql.lock, [id]);
      let counts: { state: FlowState; finished: number; total: number; failed: number } | undefined = flow.rows[0];
      if (!counts) {
        await client.query('ROLLBACK');
        return null;
      }
      const failed = end.state === 'completed' ? 0 : 1;
      const recorded = await client.query<{ children: string[] }>(this.sql['record-end'], [id, key, end.state, JSON.stringify(end)]);
      const first = recorded.rowCount === 1;
      let children: ChildRow[];
      if (first) {
        counts = (await client.query<NonNullable<typeof counts>>(this.sql['count-end'], [id, failed])).rows[0] ?? counts;
        const kids = recorded.rows[0]?.children ?? [];
        children = kids.length === 0 ? [] : (await client.query<ChildRow>(this.sql['count-off'], [id, kids, failed])).rows;
      } else {
        children = (await client.query<ChildRow>(this.sql.children, [id, key])).rows;
      }
      await client.query('COMMIT');
      return { first, children: children.map(childOf), ...(counts as NonNullable<typeof counts>) };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
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
