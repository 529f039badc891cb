// Search indexing against the ES stand-in (test/es-standin/server.ts, in its own process like a real
// cluster) answering every request after a fixed 5 ms: our coalescing indexer (BulkBatcher: each job submits one operation and awaits its own
// result; one `_bulk` per SEARCH_BULK_MAX_ITEMS) vs the raw client with one `index` request per job.
// Both sides keep the same number of jobs in flight (the search queue's concurrency) and write the same
// documents with external versions through the alias, so the only difference is requests per document.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@elastic/elasticsearch';
import { pino } from 'pino';
import { queues } from '../../workers/catalog.ts';
import { BulkBatcher } from '../../workers/search/bulk-batcher.ts';
import { setupIndex } from '../../workers/search/index-setup.ts';
import { searchIndexes } from '../../workers/search/indexes.ts';
import { WriteTargets } from '../../workers/search/write-targets.ts';
import type { BenchSection } from './types.ts';

const LATENCY_MS = 5;
const MAX_ITEMS = 100;

/** Run `total` jobs with at most `concurrency` in flight; documents per second. */
async function run(total: number, concurrency: number, job: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await job(next++);
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

const doc = (i: number) => ({
  name: `product ${i}`,
  description: 'a thing one can buy',
  category: i % 2 ? 'odd' : 'even',
  price: i % 1000,
  in_stock: true,
});

/** The stand-in in a child process, answering after `latencyMs`. */
export async function startStandinProcess(latencyMs: number) {
  const script = fileURLToPath(new URL('../es-standin/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, ES_STANDIN_LATENCY_MS: String(latencyMs) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`stand-in exited ${code}`)));
    lines.once('line', (l) => resolve((JSON.parse(l) as { url: string }).url));
  });
  return { url, stop: () => new Promise((r) => child.once('exit', r).kill('SIGTERM')) };
}

const section: BenchSection = async (ctx) => {
  const standin = await startStandinProcess(LATENCY_MS);
  const client = new Client({ node: standin.url });
  try {
    const prefix = 'bench';
    await setupIndex(client, prefix, searchIndexes.products, { overwrite: true });
    const alias = `${prefix}-products`;
    const concurrency = queues.search.concurrency;
    // the stand-in's periodic refresh copies every document; indexing is what is measured here
    await client.indices.putSettings({ index: alias, settings: { index: { refresh_interval: '-1' } } });
    const batcher = new BulkBatcher({
      client,
      targets: new WriteTargets(client, 1_000),
      logger: pino({ level: 'silent' }),
      maxItems: MAX_ITEMS,
      maxBytes: 5_000_000,
      waitMs: 50,
    });
    const bulkDocs = ctx.quick ? 5_000 : 40_000;
    const singleDocs = ctx.quick ? 1_000 : 8_000;

    // warm up both paths
    await run(500, concurrency, async (i) => {
      await batcher.submit({ alias, operation: 'upsert', id: `w${i}`, document: doc(i), version: 1 });
      await client.index({ index: alias, id: `w${i}`, document: doc(i), version: 2, version_type: 'external', require_alias: true });
    });

    const bulkBefore = batcher.stats.requests;
    let cpu = process.cpuUsage();
    const ours = await run(bulkDocs, concurrency, async (i) => {
      const o = await batcher.submit({ alias, operation: 'upsert', id: `b${i}`, document: doc(i), version: 1 });
      if (o.kind !== 'done') throw new Error(`bench item ${i}: ${JSON.stringify(o)}`);
    });
    const bulkRequests = batcher.stats.requests - bulkBefore;
    const oursCpu = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    const raw = await run(singleDocs, concurrency, async (i) => {
      await client.index({ index: alias, id: `s${i}`, document: doc(i), version: 1, version_type: 'external', require_alias: true });
    });
    const rawCpu = process.cpuUsage(cpu);
    await batcher.close();
    const ratio = ours / raw;
    // documents per CPU second spent in this (the indexing) process, stand-in excluded
    const perCpuSecond = (docs: number, c: NodeJS.CpuUsage) => docs / ((c.user + c.system) / 1e6);
    ctx.log(
      `${concurrency} jobs in flight, ${LATENCY_MS} ms per request: coalesced ${Math.round(ours)} docs/s (${bulkDocs} docs in ${bulkRequests} _bulk requests), one request per job ${Math.round(raw)} docs/s (${singleDocs} docs, ${singleDocs} requests), ${ratio.toFixed(1)}×`,
    );
    return [
      {
        section: 'search',
        metric: `index docs, ${LATENCY_MS} ms/request stand-in (coalesced _bulk vs one request per job)`,
        ours,
        baseline: raw,
        unit: 'docs/s',
        target: '≥ 10× one request per job',
        met: ratio >= 10,
      },
      {
        section: 'search',
        metric: 'index docs per CPU second of the indexing process (same runs)',
        ours: perCpuSecond(bulkDocs, oursCpu),
        baseline: perCpuSecond(singleDocs, rawCpu),
        unit: 'docs/cpu-s',
      },
    ];
  } finally {
    await client.close();
    await standin.stop();
  }
};

export default section;
