// `npm run soak`: mixed traffic at a steady rate for SOAK_MINUTES (default 60) on each engine side by
// side (web + two workers each, private Redis and PostgreSQL, real SMTP, ES stand-in), sampling every
// process's RSS, Redis memory, the Postgres database size and the API's latency percentiles, then a
// table per minute and whether memory stayed flat. Not in CI (docs/reliability.md).
//   SOAK_MINUTES=60   how long          SOAK_RATE=1    traffic multiplier (1 ≈ 25 requests/s per engine)
//   SOAK_ENGINES=bullmq,pgboss          which engines
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { freePort, Harness, percentile, sleep } from '../chaos/harness.ts';
import { type EngineName, Platform, QUEUES, type Services } from '../chaos/platform.ts';
import { ChaosSmtp, PrivatePostgres, PrivateRedis, startEsStandin } from '../chaos/services.ts';
import { type Answer, bad5xx, formatStatuses, ok, Stream, windowStats } from '../chaos/traffic.ts';

const MINUTES = Number(process.env.SOAK_MINUTES ?? '60');
const RATE = Number(process.env.SOAK_RATE ?? '1');
const ENGINES = (process.env.SOAK_ENGINES ?? 'bullmq,pgboss').split(',').filter(Boolean) as EngineName[];
if (!(MINUTES > 0) || !(RATE > 0) || ENGINES.some((e) => e !== 'bullmq' && e !== 'pgboss')) {
  throw new Error('SOAK_MINUTES and SOAK_RATE expect positive numbers, SOAK_ENGINES a list of bullmq, pgboss');
}
const SAMPLE_MS = Math.min(10_000, (MINUTES * 60_000) / 12);
/** short retention, so the stores reach their steady size within the run (config requires idempotency ≤ retention) */
const RETENTION = {
  RETENTION_COMPLETED_SECONDS: '300',
  IDEMPOTENCY_TTL_SECONDS: '300',
  RETENTION_FAILED_SECONDS: '600',
  RETENTION_COMPLETED_COUNT: '5000',
  RETENTION_FAILED_COUNT: '5000',
  EMAIL_LEDGER_TTL_SECONDS: '3600',
};
const RETENTION_MS = 600_000;

const log = (line: string) => console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}`);

/**
 * RSS of a process and of everything in its process group (a worker under WORKER_AUTOSCALE runs its
 * jobs in child processes), from /proc (Linux), in bytes; NaN when the leader is gone.
 */
function rss(pgid: number): number {
  let total = 0;
  let leader = false;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // fields after the command's closing parenthesis: state ppid pgrp …
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp !== pgid) continue;
      const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (kb) total += Number(kb) * 1024;
      if (Number(entry) === pgid) leader = true;
    } catch {} // gone meanwhile
  }
  return leader ? total : Number.NaN;
}

interface Sample {
  at: number;
  values: Record<string, number>;
}

/** The soak's mix, per engine, requests per second at SOAK_RATE=1 (about 25/s). */
function mixedTraffic(p: Platform): Stream[] {
  const { api } = p;
  const recent: string[] = [];
  const remember = (a: Answer) => {
    if (ok(a) && typeof a.body?.id === 'string') {
      recent.push(encodeURIComponent(a.body.id));
      if (recent.length > 500) recent.shift();
    }
  };
  const post = (job: unknown, key: string) => api.request('POST', '/v1/jobs', job, key).then(remember);
  const streams: [number, (i: number) => Promise<unknown>][] = [
    [10, (i) => post({ name: 'diagnostics.noop', data: { note: `soak-${i}` } }, 'noop')],
    [2, (i) => post({ name: 'diagnostics.sleep', data: { ms: 50, tag: `soak-${i}` } }, 'sleep')],
    [1, (i) => post({ name: 'diagnostics.sleep', data: { ms: 10, fail: 'transient', failAttempts: 1, tag: `retry-${i}` } }, 'retry')],
    [0.05, (i) => post({ name: 'diagnostics.sleep', data: { ms: 0, fail: 'permanent', tag: `dead-${i}` } }, 'dead')],
    [1, (i) => post({ name: 'diagnostics.noop', data: { note: `keyed-${i}` }, options: { idempotencyKey: `soak-${i % 200}` } }, 'keyed')],
    [
      0.5,
      (i) =>
        api.request(
          'POST',
          '/v1/jobs/bulk',
          { jobs: Array.from({ length: 20 }, (_, k) => ({ name: 'diagnostics.noop', data: { note: `bulk-${i}-${k}` } })) },
          'bulk',
        ),
    ],
    [
      1,
      (i) =>
        post(
          {
            name: 'email.send',
            data: { template: 'welcome', to: `soak-${i % 500}@soak.test`, vars: { name: 'Soak', loginUrl: 'https://example.test/login' } },
          },
          'email',
        ),
    ],
    [
      2,
      (i) =>
        post(
          {
            name: 'search.index',
            data: {
              index: 'products',
              operation: 'upsert',
              id: `soak-${i % 2000}`,
              version: i,
              document: { name: `p${i}`, price: i % 100, in_stock: true },
            },
          },
          'search',
        ),
    ],
    [
      4,
      () =>
        recent.length
          ? api.request('GET', `/v1/jobs/${recent[Math.floor(Math.random() * recent.length)]}`, undefined, 'get')
          : Promise.resolve(),
    ],
    [0.5, () => api.request('GET', '/v1/queues', undefined, 'queues')],
    [0.2, () => api.readyz()],
  ];
  return streams.map(([rate, send]) => new Stream(rate * RATE, send));
}

async function sample(p: Platform, services: Services): Promise<Record<string, number>> {
  const v: Record<string, number> = { 'web RSS': rss(p.web.pid) };
  for (const [i, w] of p.workers.entries()) v[`worker-${i + 1} RSS`] = rss(w.pid);
  if (services.redis) v['redis used_memory'] = await services.redis.usedMemory().catch(() => Number.NaN);
  if (services.postgres) v['postgres db size'] = await services.postgres.databaseBytes().catch(() => Number.NaN);
  const q = await p.api.request('GET', '/v1/queues', undefined, 'backlog');
  const infos = (q.body?.queues ?? []) as { name: string; counts: Record<string, number> }[];
  v.backlog = infos
    .filter((x) => (QUEUES as readonly string[]).includes(x.name))
    .reduce((n, x) => n + (x.counts.waiting ?? 0) + (x.counts.active ?? 0), 0);
  return v;
}

/** the warm-up of a store series: its retention window or 20 % of the run, never over half the run */
const STORE_WARMUP_MS = Math.min(Math.max(RETENTION_MS, 0.2 * MINUTES * 60_000), 0.5 * MINUTES * 60_000);

/** the least-squares rise of ys over xs (minutes), end to end */
function trendRise(xs: number[], ys: number[]) {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const slope = xs.reduce((n, x, i) => n + (x - mx) * ((ys[i] as number) - my), 0) / xs.reduce((n, x) => n + (x - mx) ** 2, 0);
  return slope * ((xs[xs.length - 1] as number) - (xs[0] as number));
}

/**
 * Flat, for the stores: after the warm-up, the least-squares line through the samples rises by less than
 * 10 % of their median, or by less than 8 MB (allocator noise on small numbers). For RSS: the peak of the
 * last third of the run is within that of the peak before it. A process's RSS is a sawtooth with a long
 * period (the heap is given back and regrown to the same plateau, ~20 minutes on the pg-boss workers): a
 * line through every sample, or through per-bucket peaks, of a window that starts in a trough reads the
 * regrowth as +40–120 MB although the plateau never rises. A leak raises the plateau above every earlier peak.
 */
function flatness(samples: Sample[], series: string) {
  const t0 = samples[0]?.at ?? 0;
  const none = { verdict: 'too short', rise: Number.NaN, median: Number.NaN, basis: 'rise' };
  if (series.includes('RSS')) {
    const all = samples.filter((s) => Number.isFinite(s.values[series]));
    const cut = t0 + (2 / 3) * MINUTES * 60_000;
    const before = all.filter((s) => s.at < cut).map((s) => s.values[series] as number);
    const last = all.filter((s) => s.at >= cut).map((s) => s.values[series] as number);
    if (before.length < 3 || last.length < 3) return none;
    const rise = Math.max(...last) - Math.max(...before);
    const median = percentile([...before, ...last], 50);
    const verdict = rise <= Math.max(0.1 * median, 8 * 2 ** 20) ? 'flat' : 'GROWS';
    return { verdict, rise, median, basis: 'peak of the last third minus the peak before it' };
  }
  const steady = samples.filter((s) => s.at - t0 >= STORE_WARMUP_MS && Number.isFinite(s.values[series]));
  if (steady.length < 3) return none;
  const xs = steady.map((s) => (s.at - t0) / 60_000);
  const ys = steady.map((s) => s.values[series] as number);
  const median = percentile(ys, 50);
  const rise = trendRise(xs, ys);
  return {
    verdict: rise <= Math.max(0.1 * median, 8 * 2 ** 20) ? 'flat' : 'GROWS',
    rise,
    median,
    basis: 'trend of the line through the steady window',
  };
}

interface StoreSizes {
  postgres?: Awaited<ReturnType<PrivatePostgres['sizeReport']>>;
  redis?: Awaited<ReturnType<PrivateRedis['sizeReport']>>;
}

async function storeSizes(services: Services): Promise<StoreSizes | undefined> {
  try {
    return { postgres: await services.postgres?.sizeReport(12), redis: await services.redis?.sizeReport(12) };
  } catch (err) {
    log(`store size report failed: ${(err as Error).message}`);
    return undefined;
  }
}

/** the store's largest tables / key patterns at the end, each with its change since the steady window began */
function printSizes(engine: string, from: StoreSizes | undefined, to: StoreSizes | undefined, sinceMs: number) {
  if (!to) return;
  const since = `since min ${Math.round(sinceMs / 60_000)}`;
  const delta = (now: number, then: number | undefined) =>
    then === undefined ? 'new' : `${now - then >= 0 ? '+' : ''}${Math.round((now - then) * 100) / 100}`;
  if (to.postgres) {
    console.log(`\n${engine}: postgres at the end, largest tables (MB with indexes and TOAST, ${since}; live rows, ${since})`);
    const before = new Map(from?.postgres?.tables.map((t) => [t.table, t]));
    for (const t of to.postgres.tables) {
      const b = before.get(t.table);
      console.log(
        `  ${t.table.padEnd(48)} ${String(t.mb).padStart(7)} MB ${delta(t.mb, b?.mb).padStart(7)}  ${String(t.rows).padStart(9)} rows ${delta(t.rows, b?.rows).padStart(8)}`,
      );
    }
    console.log('  pg-boss jobs by queue and state:');
    for (const j of to.postgres.jobs) console.log(`  ${`${j.queue} ${j.state}`.padEnd(48)} ${String(j.n).padStart(9)}`);
  }
  if (to.redis) {
    console.log(`\n${engine}: redis at the end, largest key patterns (MB by MEMORY USAGE, ${since}; keys, ${since})`);
    const before = new Map(from?.redis?.map((k) => [k.pattern, k]));
    for (const k of to.redis) {
      const b = before.get(k.pattern);
      console.log(
        `  ${k.pattern.slice(0, 60).padEnd(60)} ${String(k.mb).padStart(7)} MB ${delta(k.mb, b?.mb).padStart(7)}  ${String(k.keys).padStart(8)} keys ${delta(k.keys, b?.keys).padStart(7)}`,
      );
    }
  }
}

const mb = (n: number) => (Number.isFinite(n) ? (n / 2 ** 20).toFixed(1) : '-');

function printTable(engine: string, samples: Sample[], answers: Answer[], t0: number) {
  const series = Object.keys(samples[0]?.values ?? {});
  const cols = ['min', 'requests', 'non-2xx', 'p50', 'p95', 'p99', 'max', ...series.map((s) => (s === 'backlog' ? s : `${s} MB`))];
  const rows: string[][] = [];
  for (let m = 0; m < Math.ceil(MINUTES); m++) {
    const from = t0 + m * 60_000;
    const inMinute = answers.filter((a) => a.startedAt >= from && a.startedAt < from + 60_000);
    const last = [...samples].reverse().find((s) => s.at < from + 60_000 && s.at >= from);
    const ms = inMinute.map((a) => a.ms);
    rows.push([
      String(m + 1),
      String(inMinute.length),
      formatStatuses(
        windowStats(
          inMinute.filter((a) => !ok(a)),
          0,
          Number.POSITIVE_INFINITY,
        ).statuses,
      ),
      String(percentile(ms, 50)),
      String(percentile(ms, 95)),
      String(percentile(ms, 99)),
      String(ms.length ? Math.max(...ms) : 0),
      ...series.map((s) => (s === 'backlog' ? String(last?.values[s] ?? '-') : mb(last?.values[s] ?? Number.NaN))),
    ]);
  }
  const width = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]) => r.map((c, i) => c.padStart(width[i] as number)).join('  ');
  console.log(`\n${engine} (latency in ms over each minute; memory and backlog: the minute's last sample)`);
  console.log(line(cols));
  for (const r of rows) console.log(line(r));
  const all = answers.filter((a) => a.startedAt >= t0);
  const ms = all.map((a) => a.ms);
  const bad = all.filter(bad5xx).length;
  console.log(
    `  whole run: ${all.length} requests, non-2xx ${formatStatuses(
      windowStats(
        all.filter((a) => !ok(a)),
        0,
        Number.POSITIVE_INFINITY,
      ).statuses,
    )}, p50 ${percentile(ms, 50)} ms, p95 ${percentile(ms, 95)} ms, p99 ${percentile(ms, 99)} ms, max ${ms.length ? Math.max(...ms) : 0} ms, 5xx ${bad}`,
  );
  let allFlat = bad === 0;
  if (bad > 0) console.log(`  FAIL: ${bad} answers 5xx (not 503 + Retry-After)`);
  for (const s of series.filter((x) => x !== 'backlog')) {
    const f = flatness(samples, s);
    // under 30 minutes one GC sawtooth looks like growth: printed, not failed
    const judged = MINUTES >= 30 || f.verdict !== 'GROWS' ? f.verdict : 'GROWS? (run under 30 min: not judged)';
    if (MINUTES >= 30 && f.verdict === 'GROWS') allFlat = false;
    console.log(`  ${s}: ${judged} (median ${mb(f.median)} MB, ${f.basis}: ${f.rise >= 0 ? '+' : ''}${mb(f.rise)} MB)`);
  }
  return allFlat;
}

const h = new Harness();
let exitCode = 0;
try {
  const smtp = await ChaosSmtp.start();
  h.onClose(() => smtp.down());
  const es = await startEsStandin(h);
  const runs = await Promise.all(
    ENGINES.map(async (engine) => {
      const services: Services = { smtp, es };
      if (engine === 'bullmq') services.redis = await PrivateRedis.start(h);
      else services.postgres = await PrivatePostgres.start(h);
      const platform = await Platform.start(h, engine, services, await freePort(), RETENTION);
      const answers: Answer[] = [];
      platform.api.sink = (a) => {
        if (a.key !== 'backlog') answers.push({ ...a, body: undefined });
      };
      return { engine, services, platform, answers, samples: [] as Sample[] };
    }),
  );
  log(`${ENGINES.join(' and ')} up; ${MINUTES} min of traffic at SOAK_RATE=${RATE}, sampling every ${SAMPLE_MS / 1000} s`);
  const t0 = Date.now();
  const streams = runs.flatMap((r) => mixedTraffic(r.platform));
  // where the store bytes are when the stores' steady window starts, and at the end: the difference names what grew
  let atSteady: (StoreSizes | undefined)[] | undefined;
  while (Date.now() - t0 < MINUTES * 60_000) {
    for (const r of runs) r.samples.push({ at: Date.now(), values: await sample(r.platform, r.services) });
    if (!atSteady && Date.now() - t0 >= STORE_WARMUP_MS) atSteady = await Promise.all(runs.map((r) => storeSizes(r.services)));
    const dead = runs.flatMap((r) => [r.platform.web, ...r.platform.workers].filter((p) => !p.alive).map((p) => p.name));
    if (dead.length) throw new Error(`processes exited during the soak: ${dead.join(', ')}`);
    await sleep(Math.min(SAMPLE_MS, t0 + MINUTES * 60_000 - Date.now()));
  }
  for (const r of runs) r.samples.push({ at: Date.now(), values: await sample(r.platform, r.services) }); // still under traffic
  const atEnd = await Promise.all(runs.map((r) => storeSizes(r.services)));
  await Promise.all(streams.map((s) => s.stop()));
  console.log(
    `\nnpm run soak: ${MINUTES} min, SOAK_RATE=${RATE}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, node ${process.version}`,
  );
  if (MINUTES < 30) console.log('(a run shorter than 30 minutes says little about leaks: use it to check the script)');
  for (const r of runs) if (!printTable(r.engine, r.samples, r.answers, t0)) exitCode = 1;
  for (const [i, r] of runs.entries()) printSizes(r.engine, atSteady?.[i], atEnd[i], STORE_WARMUP_MS);
  console.log(
    `\n${exitCode === 0 ? 'memory stayed flat, no 5xx' : 'FAIL: memory GREW or 5xx answers'} (flat: after the warm-up, the trend line rises < 10 % of the median or < 8 MB)`,
  );
} catch (err) {
  console.error(`soak aborted: ${(err as Error).stack}`);
  exitCode = 2;
} finally {
  await h.close();
}
process.exit(exitCode);
