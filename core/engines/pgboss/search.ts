// Job search on pg-boss: one statement (sql/search-jobs.sql) over the job table, payload conditions as
// jsonpath predicates on `data` (equality is GIN-indexed, a prefix is checked on the rows the other conditions
// leave), keyset pagination on (created_on, id). The bulk actions' per-job steps (retry, remove, promote).
import type { JobState } from '../../engine.ts';
import { badCursor, type DataMatch, decodeCursor, encodeCursor, type JobFilter, type JobPage, type JobQuery } from '../../search.ts';
import type { JobActions } from '../../stores.ts';
import { META_KEY } from '../shared.ts';
import type { JobRow, PgbossContext } from './context.ts';
import { KEEP_WAITING_SECONDS } from './enqueue.ts';
import { toUuid } from './ids.ts';
import { viewOf } from './reads.ts';

const BOSS_STATES: Record<JobState, string[]> = {
  waiting: ['created', 'retry'],
  delayed: ['created', 'retry'],
  active: ['active'],
  completed: ['completed'],
  failed: ['failed'],
  dead: ['failed'],
  cancelled: ['cancelled'],
};

const JSON_NUMBER = /^-?(0|[1-9]\d{0,15})(\.\d{1,15})?([eE][+-]?\d{1,3})?$/;

/** `$."vars"."name"`: keys are letters, digits, _ and - (core/search.ts), quoted all the same */
const accessor = (path: string[]) => `$${path.map((p) => `.${JSON.stringify(p)}`).join('')}`;

/** The equality of one condition: the string, and the number / boolean / null its text spells. */
function equality(m: DataMatch): string {
  const at = accessor(m.path);
  const alts = [`${at} == ${JSON.stringify(m.value)}`];
  if (JSON_NUMBER.test(m.value)) alts.push(`${at} == ${m.value}`);
  if (m.value === 'true' || m.value === 'false' || m.value === 'null') alts.push(`${at} == ${m.value}`);
  return alts.length === 1 ? (alts[0] as string) : `(${alts.join(' || ')})`;
}

/** The statement's parameters for `filter` (plus the page). */
function params(filter: JobFilter, page: { cursor: string | null; limit: number | null }): unknown[] {
  const exact = filter.data.filter((m) => !m.prefix).map(equality);
  if (filter.kinds?.length === 1) exact.push(`$.${JSON.stringify(META_KEY)}."kind" == ${JSON.stringify(filter.kinds[0])}`);
  const prefix = filter.data.filter((m) => m.prefix).map((m) => `${accessor(m.path)} starts with ${JSON.stringify(m.value)}`);
  const cursor = page.cursor ? decodeCursor(page.cursor) : null;
  if (cursor && (Number.isNaN(Date.parse(cursor.key)) || !/^[0-9a-f-]{36}$/.test(cursor.id))) throw badCursor();
  return [
    filter.queues,
    filter.kinds,
    filter.states,
    filter.states ? [...new Set(filter.states.flatMap((s) => BOSS_STATES[s]))] : null,
    filter.since === null ? null : new Date(filter.since),
    filter.until === null ? null : new Date(filter.until),
    exact.length ? exact.join(' && ') : null,
    prefix.length ? prefix.join(' && ') : null,
    cursor?.key ?? null,
    cursor?.id ?? null,
    page.limit,
  ];
}

export async function searchJobs(ctx: PgbossContext, query: JobQuery): Promise<JobPage> {
  await ctx.start();
  const { rows } = await ctx.q(ctx.sql['search-jobs'], params(query, { cursor: query.cursor, limit: query.limit + 1 }));
  const page = (rows as (JobRow & { sort_key: string })[]).slice(0, query.limit);
  const last = page.at(-1);
  return { jobs: page.map(viewOf), next: rows.length > query.limit && last ? encodeCursor(last.sort_key, last.id) : null };
}

export async function countJobs(ctx: PgbossContext, filter: JobFilter): Promise<number> {
  await ctx.start();
  const { rows } = await ctx.q(
    `SELECT count(*)::int AS n FROM (${ctx.sql['search-jobs']}) s`,
    params(filter, { cursor: null, limit: null }),
  );
  return (rows[0] as { n: number }).n;
}

export function pgbossJobActions(ctx: PgbossContext): JobActions {
  const one = async (statement: 'retry-job' | 'remove-job' | 'promote-job', queue: string, id: string, extra: unknown[] = []) => {
    await ctx.start();
    const { rows } = await ctx.q(ctx.sql[statement], [queue, toUuid(id), ...extra]);
    return rows.length > 0;
  };
  return {
    retry: (job) => one('retry-job', job.queue, job.id, [KEEP_WAITING_SECONDS]),
    remove: (job) => one('remove-job', job.queue, job.id),
    promote: (job) => one('promote-job', job.queue, job.id),
  };
}
