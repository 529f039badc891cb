// A 1 M-row report (demo.series, CSV): wall time and peak RSS growth of our streamed runner vs a raw
// pg-query-stream → file pipeline, each in its own child process so the RSS figures are its own.
// Needs PostgreSQL: REPORTS_DATABASE_URL, else TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchSection } from './types.ts';

interface ChildResult {
  ms: number;
  cpuMs: number;
  rows: number;
  bytes: number;
  baseRssMb: number;
  peakRssMb: number;
}

function measure(mode: 'ours' | 'raw', rows: number, url: string, dir: string, warmupRows: number): Promise<ChildResult> {
  const script = fileURLToPath(new URL('reports-child.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, mode, String(rows), url, dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, REPORTS_BENCH_WARMUP_ROWS: String(warmupRows) },
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`reports bench child (${mode}) exited ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1) as string) as ChildResult);
    });
  });
}

const section: BenchSection = async (ctx) => {
  const url = process.env.REPORTS_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const rows = ctx.quick ? 100_000 : 1_000_000;
  const dir = await mkdtemp(join(tmpdir(), 'conveyor-reports-bench-'));
  try {
    // warm: the child first runs a 100k-row report (as a worker that has run jobs before), so the V8 heap
    // has grown to its working size; cold: only a 1,000-row warm-up. Growth = peak RSS − RSS before the run.
    const warmup = Math.min(100_000, rows);
    // the machine is shared: alternate the two and keep each one's faster run
    const best = (a: ChildResult, b: ChildResult) => (a.ms <= b.ms ? a : b);
    let raw = await measure('raw', rows, url, dir, warmup);
    let ours = await measure('ours', rows, url, dir, warmup);
    raw = best(raw, await measure('raw', rows, url, dir, warmup));
    ours = best(ours, await measure('ours', rows, url, dir, warmup));
    const rawCold = await measure('raw', rows, url, dir, 1_000);
    const oursCold = await measure('ours', rows, url, dir, 1_000);
    const growth = (r: ChildResult) => Math.max(0, r.peakRssMb - r.baseRssMb);
    ctx.log(
      `ours ${(ours.ms / 1000).toFixed(2)} s, +${growth(ours).toFixed(1)} MB RSS warm / +${growth(oursCold).toFixed(1)} MB cold, ${(ours.bytes / 1e6).toFixed(1)} MB written; ` +
        `raw ${(raw.ms / 1000).toFixed(2)} s, +${growth(raw).toFixed(1)} MB warm / +${growth(rawCold).toFixed(1)} MB cold, ${(raw.bytes / 1e6).toFixed(1)} MB written`,
    );
    const label = `${rows.toLocaleString('en-US')}-row CSV report`;
    return [
      { section: 'reports', metric: `${label}: wall time`, ours: ours.ms / 1000, baseline: raw.ms / 1000, unit: 's' },
      { section: 'reports', metric: `${label}: Node CPU time`, ours: ours.cpuMs / 1000, baseline: raw.cpuMs / 1000, unit: 's' },
      { section: 'reports', metric: `${label}: rows/s`, ours: rows / (ours.ms / 1000), baseline: rows / (raw.ms / 1000), unit: 'rows/s' },
      {
        section: 'reports',
        metric: `${label}: peak RSS growth (warm worker)`,
        ours: growth(ours),
        baseline: growth(raw),
        unit: 'MB',
        target: '< 50 MB',
        met: growth(ours) < 50,
      },
      {
        section: 'reports',
        metric: `${label}: peak RSS growth (cold process)`,
        ours: growth(oursCold),
        baseline: growth(rawCold),
        unit: 'MB',
      },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

export default section;
