// Outages of what the jobs talk to, not of the queue store: SMTP down (2 minutes at CHAOS_SCALE=10) and
// the Elasticsearch stand-in answering 429, then 5xx. Enqueueing must go on as if nothing happened, the
// web's /readyz must stay 200 (its own job is the queue store), and every job must get through once the
// dependency is back: no email dead-lettered, none sent twice, every document indexed.
import { sleep, waitFor } from '../harness.ts';
import { Ledger, resultOf, retryUnacked, type Scenario, type ScenarioContext, type ScenarioResult } from '../scenario.ts';
import { formatStatuses, Stream, windowStats } from '../traffic.ts';

interface DependencyOutage {
  /** ledger name; `suffix` completes a key into the payload's value (an email address) */
  ledger: [string, string?];
  queue: string;
  /** how many jobs, sent evenly over `overMs` from the start of the fault */
  count: number;
  overMs: number;
  job(key: string): unknown;
  /** makes the fault happen (after 2 s of traffic) and lasts as long as it does; resolves when the dependency is back */
  fault(): Promise<void>;
  what: string;
  settleMs: number;
}

/**
 * The jobs, a /readyz probe every second and 10 no-op enqueues/s alongside, during `fault()`; then the
 * unacknowledged ones resent, the queue settled, and the numbers, with "/readyz stays 200" checked.
 */
async function duringOutage(ctx: ScenarioContext, o: DependencyOutage): Promise<{ r: ScenarioResult; L: Ledger }> {
  const { api } = ctx.platform;
  const L = new Ledger(...o.ledger);
  const side = new Stream(10, (i) => api.enqueue({ name: 'diagnostics.noop', data: { note: `side-${i}` } }, 'side'));
  const probe = new Stream(1, () => api.readyz());
  const before = Date.now();
  // a baseline before the jobs and the outage: the side stream and the probe have answered a few times
  await waitFor(() => side.answered >= 10 && probe.answered >= 2, { timeoutMs: 30_000, what: 'baseline answers' });
  const from = Date.now();
  const jobs = new Stream(Math.max(1, (o.count * 1000) / o.overMs), async (i) => {
    if (i >= o.count) return;
    const k = L.key(i);
    L.take(await api.request('POST', '/v1/jobs', o.job(k), k));
  });
  await o.fault();
  const to = Date.now();
  await Promise.all([jobs.stop(), side.stop(), probe.stop()]);
  ctx.log(`${o.what} faulty for ${to - from} ms, ${L.acked.size} jobs acknowledged`);
  await retryUnacked(L, (k) => api.request('POST', '/v1/jobs', o.job(k), k), 30_000);
  const settle = await ctx.platform.settle(o.queue, L.prefix, L.acked, o.settleMs);
  const inv = await ctx.platform.inventory(o.queue, L.prefix);
  const mine = ctx.answers();
  const readyz = windowStats(
    mine.filter((a) => a.key === 'readyz'),
    from,
    to,
  );
  const not200 = readyz.count - (readyz.statuses['200'] ?? 0);
  // which checks said down (the body names them)
  const down = new Set<string>();
  for (const a of mine) {
    if (a.key !== 'readyz' || a.status === 200 || a.startedAt < from || a.startedAt > to) continue;
    const checks = (a.body?.checks ?? {}) as Record<string, string>;
    for (const [name, state] of Object.entries(checks)) if (state.startsWith('down')) down.add(`${name} ${state.slice(0, 70)}`);
    if (!a.body?.checks) down.add(String(a.status));
  }
  const failures =
    not200 > 0 ? [`/readyz answered ${formatStatuses(readyz.statuses)} while only ${o.what} was down (${[...down].join(', ')})`] : [];
  const enqueues = mine.filter((a) => a.key !== 'readyz');
  return {
    r: resultOf(L, inv, enqueues, { from, to, before }, settle, { readyz, failures, notes: [`${o.what} faulty for ${to - from} ms`] }),
    L,
  };
}

const email = (to: string) => ({
  name: 'email.send',
  data: { template: 'welcome', to, vars: { name: 'Chaos', loginUrl: 'https://example.test/login' } },
});

export const smtpOutage: Scenario = {
  name: 'smtp-outage',
  skip: () => undefined,
  async run(ctx) {
    const { smtp } = ctx.services;
    // CHAOS_SMTP_DOWN_S: the outage alone, e.g. 120 for the 2-minute case without scaling the rest
    const outageMs = process.env.CHAOS_SMTP_DOWN_S ? Number(process.env.CHAOS_SMTP_DOWN_S) * 1000 : 12_000 * ctx.scale;
    const { r, L } = await duringOutage(ctx, {
      ledger: ['smtp', '@chaos.test'],
      queue: 'email',
      count: 20 * ctx.scale,
      overMs: outageMs / 2,
      job: email,
      fault: async () => {
        await smtp.down();
        await sleep(outageMs);
        await smtp.up();
      },
      what: 'SMTP (connections refused)',
      settleMs: Math.max(120_000, 3 * outageMs),
    });
    const delivered = [...L.acked].map((k) => smtp.delivered.get(k) ?? 0);
    r.emailsTwice = delivered.filter((n) => n > 1).length;
    const undelivered = delivered.filter((n) => n === 0).length;
    if (undelivered > r.dead + r.lost)
      r.failures.push(`${undelivered - r.dead - r.lost} completed email jobs never reached the SMTP server`);
    return r;
  },
};

export const esFaults: Scenario = {
  name: 'es-429-then-5xx',
  skip: () => undefined,
  async run(ctx) {
    const { es } = ctx.services;
    const phaseMs = 3_000 * ctx.scale;
    const fail = (status: number) => [{ pathSuffix: '/_bulk', status, count: 1e12 }];
    const { r } = await duringOutage(ctx, {
      ledger: ['es'],
      queue: 'search',
      count: 300 * ctx.scale,
      overMs: 2 * phaseMs,
      job: (id) => ({
        name: 'search.index',
        data: { index: 'products', operation: 'upsert', id, version: 1, document: { name: id, price: 1, in_stock: true } },
      }),
      fault: async () => {
        es.faults.failRequests = fail(429);
        await sleep(phaseMs);
        es.faults.failRequests = fail(503);
        await sleep(phaseMs / 2);
        es.faults.failRequests = fail(500);
        await sleep(phaseMs / 2);
        es.faults.failRequests = [];
      },
      what: 'Elasticsearch (_bulk 429, then 503 and 500)',
      settleMs: Math.max(120_000, 8 * phaseMs), // backoff up to 5 min: a long outage leaves long waits
    });
    const alias = `${ctx.platform.prefix}-products`;
    await fetch(`${es.url}/${alias}/_refresh`, { method: 'POST' });
    const counted = (await (await fetch(`${es.url}/${alias}/_count`)).json()) as { count?: number };
    r.notes.push(`${counted.count ?? 0} documents in ${alias}`);
    const missing = r.completed - (counted.count ?? 0);
    if (missing > 0) r.failures.push(`${missing} completed index jobs left no document`);
    return r;
  },
};
