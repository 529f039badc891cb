// `npm run bench [-- section …] [--quick]`: runs every test/bench/<section>.bench.ts (or the named ones)
// and prints one table: ours vs the raw library in the same run, the ratio, and the target.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchRow, BenchSection } from './types.ts';

const dir = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const wanted = args.filter((a) => !a.startsWith('--'));
const sections = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .filter((s) => wanted.length === 0 || wanted.includes(s))
  .sort((a, b) => (a === 'core' ? -1 : b === 'core' ? 1 : a.localeCompare(b)));

const ctx = {
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  quick,
  log: (line: string) => console.error(`  · ${line}`),
};

const fmt = (n: number | undefined) =>
  n === undefined ? '' : Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2);

const rows: BenchRow[] = [];
for (const s of sections) {
  console.error(`▶ ${s}${quick ? ' (quick)' : ''}`);
  const mod = (await import(`./${s}.bench.ts`)) as { default: BenchSection };
  try {
    rows.push(...(await mod.default(ctx)));
  } catch (err) {
    console.error(`  ✗ section ${s} failed: ${(err as Error).stack}`);
    process.exitCode = 1;
  }
}

const table = rows.map((r) => ({
  section: r.section,
  metric: r.metric,
  ours: `${fmt(r.ours)} ${r.unit}`,
  raw: r.baseline === undefined ? '' : `${fmt(r.baseline)} ${r.unit}`,
  ratio: r.baseline ? `${(r.ours / r.baseline).toFixed(2)}×` : '',
  target: r.target ?? '',
  met: r.met === undefined ? '' : r.met ? 'yes' : 'NO',
}));
const cols = Object.keys(table[0] ?? { section: '' }) as (keyof (typeof table)[number])[];
const width = Object.fromEntries(cols.map((c) => [c, Math.max(c.length, ...table.map((r) => String(r[c]).length))]));
const line = (r: Record<string, string>) => cols.map((c) => String(r[c]).padEnd(width[c] as number)).join('  ');
console.log(`\n${line(Object.fromEntries(cols.map((c) => [c, c])))}`);
console.log(cols.map((c) => '-'.repeat(width[c] as number)).join('  '));
for (const r of table) console.log(line(r));
console.log(`\nnode ${process.version}, ${new Date().toISOString()}${quick ? ', --quick' : ''}`);
process.exit();
