// One measured run for the reports bench, in its own process so its peak RSS is its own:
//   node --import tsx test/bench/reports-child.ts <ours|raw> <rows> <databaseUrl> <dir>
// Prints one JSON line: { ms, cpuMs, rows, bytes, baseRssMb, peakRssMb } (cpuMs: this process only, not PostgreSQL).
// ours: the report runner (demo.series → CSV via core formatter, progress, storage commit).
// raw:  pg-query-stream → a minimal Transform (values joined by commas, no quoting) → fs write stream.
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import QueryStream from 'pg-query-stream';
import { createReportsPool } from '../../workers/reports/database.ts';
import { type ReportDefinition, reportDefinition } from '../../workers/reports/definitions.ts';
import { runReport } from '../../workers/reports/run-report.ts';
import { LocalReportStorage } from '../../workers/reports/storage.ts';

const [mode, rowsArg, url, dir] = process.argv.slice(2) as [string, string, string, string];
const rows = Number(rowsArg);
/** a worker that has run a job before: the young generation has grown to its working size */
const WARMUP_ROWS = Number(process.env.REPORTS_BENCH_WARMUP_ROWS ?? 100_000);
const def = reportDefinition('demo.series') as ReportDefinition;

async function ours(n: number, id: string, pool: pg.Pool) {
  const meta = await runReport({
    pool,
    storage: new LocalReportStorage(dir),
    definition: def,
    params: { rows: n },
    format: 'csv',
    id,
    signal: new AbortController().signal,
    onProgress: () => {},
  });
  return meta.bytes;
}

async function raw(n: number, file: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let bytes = 0;
    const stream = client.query(new QueryStream(def.sql, def.args({ rows: n } as never)));
    const toLine = new Transform({
      writableObjectMode: true,
      transform(row: Record<string, unknown>, _e, cb) {
        const line = `${Object.values(row).join(',')}\n`;
        bytes += Buffer.byteLength(line);
        cb(null, line);
      },
    });
    await pipeline(stream, toLine, createWriteStream(join(dir, file)));
    return bytes;
  } finally {
    await client.end();
  }
}

const pool = createReportsPool(url, { max: 2, applicationName: 'conveyor-bench' });
const run = (n: number, tag: string) => (mode === 'ours' ? ours(n, tag, pool) : raw(n, `${tag}.csv`));
await run(WARMUP_ROWS, 'warmup'); // connections, JIT, and the heap grown to its steady size
globalThis.gc?.();
const base = process.memoryUsage.rss();
let peak = base;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 5);
const cpu0 = process.cpuUsage();
const started = performance.now();
const bytes = await run(rows, 'measured');
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000;
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage.rss());
await pool.end();
const mb = (b: number) => b / 1024 / 1024;
console.log(JSON.stringify({ ms, cpuMs, rows, bytes, baseRssMb: mb(base), peakRssMb: mb(peak) }));
