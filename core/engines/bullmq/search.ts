// Job search on BullMQ: a search index per queue that the engine keeps (one sorted-set entry per job,
// `<prefix>:<queue>:conveyor:search`, added when a job is created), walked newest first by search.lua,
// which reads each job's hash and matches kind, state and payload in Redis. Cost: one entry (~60 bytes plus
// the set's overhead) per retained job; a search looks at up to SCAN_BUDGET entries per request, a count at
// every entry. docs/job-search.md.
import { readFileSync } from 'node:fs';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobView } from '../../engine.ts';
import { badCursor, decodeCursor, encodeCursor, type JobFilter, type JobPage, type JobQuery } from '../../search.ts';
import { dlqName } from '../shared.ts';

/** entries one search request looks at, at most (over all queues); a page may then end early, with `next` */
export const SCAN_BUDGET = 250_000;
/** entries kept per queue: the oldest beyond it are dropped (their jobs stay readable by id) */
export const INDEX_MAX_PER_QUEUE = 2_000_000;
/** entries one script call looks at (keeps each call a few milliseconds of Redis time) */
const CALL_BUDGET = 2_000;

const SCRIPT = readFileSync(new URL('./search.lua', import.meta.url), 'utf8');
const SWEEP = readFileSync(new URL('./search-sweep.lua', import.meta.url), 'utf8');
/** index entries the sweep looks at per job added (2: the index stays within about twice the retained jobs) */
export const SWEEP_PER_JOB = 2;
/** entries one sweep call looks at, at most (a few milliseconds of Redis time) */
const SWEEP_MAX = 2_000;
/**
 * how long the sweeps of small enqueues are gathered per queue: a sweep per single POST was a Redis round
 * trip of its own, and at 1,000 POST/s those writes were about a tenth of the web's CPU (docs/benchmarks.md)
 */
const SWEEP_EVERY_MS = 100;
const JSON_NUMBER = /^-?(0|[1-9]\d{0,15})(\.\d{1,15})?([eE][+-]?\d{1,3})?$/;

const pad = (ms: number) => String(Math.max(0, Math.floor(ms))).padStart(13, '0');
const memberOf = (ts: number, id: string) => `${pad(ts)}:${id}`;

type Walk = { reason: 'limit' | 'budget' | 'end'; last: string; count: number; found: string[] };

export class SearchIndex {
  /** per queue: jobs enqueued since its last sweep, and the timer that will sweep for them */
  private readonly gathering = new Map<string, { jobs: number; timer: NodeJS.Timeout }>();

  constructor(
    private readonly redis: Redis,
    /** the BullMQ prefix of a queue (engine.queuePrefix: hash-tagged per queue on a cluster) */
    private readonly prefixOf: (queue: string) => string,
  ) {
    redis.defineCommand('conveyorSearch', { numberOfKeys: 1, lua: SCRIPT });
    redis.defineCommand('conveyorSearchSweep', { numberOfKeys: 2, lua: SWEEP });
  }

  /**
   * Drop stale entries: BullMQ deletes retained jobs (age and count retention) in its own scripts, so their
   * entries would stay until a search walked past them and the index would grow towards INDEX_MAX_PER_QUEUE
   * (the hour-long soak saw Redis grow ~15 MB/h). Called through sweepAfter with the jobs enqueues added per queue;
   * it moves a cursor over `SWEEP_PER_JOB` entries per job, oldest first, wrapping. Returns the entries
   * removed; a failure only delays the sweep (the next enqueue goes on from the same cursor).
   */
  async sweep(queue: string, added: number): Promise<number> {
    const want = Math.min(SWEEP_MAX, Math.max(1, added) * SWEEP_PER_JOB);
    return Number(
      await (this.redis as any).conveyorSearchSweep(
        this.key(queue),
        `${this.key(queue)}:sweep`,
        `${this.prefixOf(queue)}:${queue}:`,
        String(want),
      ),
    );
  }

  /**
   * sweep() for the jobs of an enqueue, in the background (never delays or fails the enqueue). Small
   * enqueues are gathered per queue for SWEEP_EVERY_MS and swept by one call; an enqueue that fills a whole
   * sweep (a bulk of SWEEP_MAX / SWEEP_PER_JOB jobs) sweeps at once, as each enqueue used to.
   */
  sweepAfter(counts: Map<string, number>, onError: (err: unknown) => void): void {
    for (const [queue, n] of counts) {
      const gathered = this.gathering.get(queue);
      const jobs = (gathered?.jobs ?? 0) + n;
      if (jobs * SWEEP_PER_JOB >= SWEEP_MAX) {
        if (gathered) clearTimeout(gathered.timer);
        this.gathering.delete(queue);
        this.sweep(queue, jobs).catch(onError);
      } else if (gathered) gathered.jobs = jobs;
      else {
        const timer = setTimeout(() => {
          const due = this.gathering.get(queue);
          this.gathering.delete(queue);
          if (due) this.sweep(queue, due.jobs).catch(onError);
        }, SWEEP_EVERY_MS).unref();
        this.gathering.set(queue, { jobs, timer });
      }
    }
  }

  /** Drop the gathered sweeps (the next process's enqueues sweep from the same cursor). */
  close(): void {
    for (const g of this.gathering.values()) clearTimeout(g.timer);
    this.gathering.clear();
  }

  key(queue: string) {
    return `${this.prefixOf(queue)}:${queue}:conveyor:search`;
  }

  /** Index jobs just created (a repeat of an existing id is harmless: its stale entry is dropped later). */
  async add(jobs: Job[]): Promise<void> {
    if (jobs.length === 0) return;
    // one pipeline per queue: on a cluster a pipeline's keys must share a slot, and each queue has its own
    const byQueue = new Map<string, Job[]>();
    for (const j of jobs) {
      const list = byQueue.get(j.queueName);
      if (list) list.push(j);
      else byQueue.set(j.queueName, [j]);
    }
    await Promise.all(
      [...byQueue].map(([queue, queued]) => {
        const pipe = this.redis.pipeline();
        this.queueInto(pipe, queue, queued);
        return pipe.exec();
      }),
    );
  }

  /** The index entries of `jobs` (all of `queue`) as commands of `tx`: the enqueue's own MULTI (add.ts). */
  queueInto(
    tx: { zadd(key: string, ...scoreMembers: (string | number)[]): unknown; zremrangebyrank(key: string, a: number, b: number): unknown },
    queue: string,
    jobs: Job[],
  ) {
    if (jobs.length === 0) return;
    const args: (string | number)[] = [];
    for (const j of jobs) args.push(0, memberOf(j.timestamp, String(j.id)));
    tx.zadd(this.key(queue), ...args); // one command for the whole request (a ZADD per job cost the web ~20 ms per 1,000)
    tx.zremrangebyrank(this.key(queue), 0, -(INDEX_MAX_PER_QUEUE + 1));
  }

  private args(queue: string, filter: JobFilter, upper: string, budget: number, limit: number) {
    const conds = filter.data.map((m) => {
      const number = !m.prefix && JSON_NUMBER.test(m.value);
      const literal = number || (!m.prefix && ['true', 'false', 'null'].includes(m.value));
      // the text the stored JSON must contain: the quoted string (open-ended for a prefix), or the bare literal
      const needle = literal ? m.value : m.prefix ? JSON.stringify(m.value).slice(0, -1) : JSON.stringify(m.value);
      return [m.path, m.value, m.prefix ? 1 : 0, needle, number ? 1 : 0];
    });
    return [
      this.key(queue),
      `${this.prefixOf(queue)}:${queue}:`,
      upper,
      filter.since === null ? '-' : `[${pad(filter.since)}`,
      String(budget),
      String(limit),
      filter.kinds ? JSON.stringify(filter.kinds) : '',
      filter.states ? JSON.stringify(filter.states) : '',
      JSON.stringify(conds),
      `${this.prefixOf(queue)}:${dlqName(queue)}:`,
    ];
  }

  /** Walk one queue from `upper` until `limit` matches (0: count them all), its end or `budget` entries. */
  private async walk(queue: string, filter: JobFilter, upper: string, budget: number, limit: number): Promise<Walk> {
    const out: Walk = { reason: 'end', last: '', count: 0, found: [] };
    let spent = 0;
    for (;;) {
      const call = Math.min(CALL_BUDGET, budget - spent);
      const want = limit === 0 ? 0 : limit - out.found.length;
      const [reason, last, count, ...found] = (await (this.redis as any).conveyorSearch(
        ...this.args(queue, filter, upper, call, want),
      )) as [Walk['reason'], string, number, ...string[]];
      out.count += Number(count);
      out.found.push(...found);
      if (last) out.last = last;
      spent += call;
      if (reason !== 'budget') return { ...out, reason };
      if (spent >= budget) return { ...out, reason: 'budget' };
      upper = `(${last}`;
    }
  }

  private upper(filter: JobFilter, cursor: string | null): string {
    if (cursor) {
      const c = decodeCursor(cursor);
      if (!/^\d{13}$/.test(c.key) || c.id.includes(':')) throw badCursor();
      return `(${c.key}:${c.id}`;
    }
    return filter.until === null ? '+' : `(${pad(filter.until)}`;
  }

  /**
   * One page over every queue of the filter: each queue is walked from the cursor; a queue that ran out of
   * budget before the others bounds the page (nothing older than where it stopped is returned).
   */
  async search(getJob: (id: string, queue: string) => Promise<JobView | null>, query: JobQuery): Promise<JobPage> {
    const upper = this.upper(query, query.cursor);
    const budget = Math.max(CALL_BUDGET, Math.floor(SCAN_BUDGET / query.queues.length));
    const walks = await Promise.all(query.queues.map((q) => this.walk(q, query, upper, budget, query.limit + 1)));
    const bound = walks
      .filter((w) => w.reason === 'budget')
      .map((w) => w.last)
      .sort()
      .at(-1);
    const byMember = new Map<string, string>();
    walks.forEach((w, i) => {
      for (const m of w.found) if (!bound || m >= bound) byMember.set(m, query.queues[i] as string);
    });
    const members = [...byMember.keys()].sort().reverse();
    const page = members.slice(0, query.limit);
    const jobs = (await Promise.all(page.map((m) => getJob(m.slice(14), byMember.get(m) as string)))).filter(
      (j): j is JobView => j !== null && (!query.states || query.states.includes(j.state)),
    );
    const lastMember = members.length > query.limit ? page.at(-1) : bound;
    const next = lastMember ? encodeCursor(lastMember.slice(0, 13), lastMember.slice(14)) : null;
    return { jobs, next };
  }

  async count(filter: JobFilter): Promise<number> {
    const upper = this.upper(filter, null);
    const walks = await Promise.all(filter.queues.map((q) => this.walk(q, filter, upper, Number.POSITIVE_INFINITY, 0)));
    return walks.reduce((n, w) => n + w.count, 0);
  }
}
