// `npm run chaos`: real processes under real faults, on each engine, with a table of what was
// acknowledged, completed, lost, duplicated, dead-lettered, how the API answered during each fault and
// how long recovery took. Exits 1 when a scenario fails. Not part of `npm test` (docs/reliability.md).
//   CHAOS_SCALE=10          longer runs: more jobs, longer outages (SMTP down 2 minutes)
//   CHAOS_ONLY=a,b          only these scenarios
//   CHAOS_ENGINES=pgboss    only these engines (default bullmq,pgboss)
//   CHAOS_SMTP_DOWN_S=120   the SMTP outage's length alone (default 12 s × CHAOS_SCALE)
import { loadavg } from 'node:os';
import { runEngine, scenarios } from './engine-run.ts';
import { Harness } from './harness.ts';
import type { EngineName } from './platform.ts';
import { failed, printReport, type Row } from './report.ts';
import { ChaosSmtp, startEsStandin } from './services.ts';

function settings() {
  const scale = Number(process.env.CHAOS_SCALE ?? '1');
  if (!Number.isFinite(scale) || scale <= 0 || scale > 100)
    throw new Error(`CHAOS_SCALE expects a number from 0 to 100 (got ${process.env.CHAOS_SCALE})`);
  const names = scenarios.map((s) => s.name);
  const only = (process.env.CHAOS_ONLY ?? '').split(',').filter(Boolean);
  for (const o of only) if (!names.includes(o)) throw new Error(`CHAOS_ONLY: unknown scenario "${o}" (known: ${names.join(', ')})`);
  const engines = (process.env.CHAOS_ENGINES ?? 'bullmq,pgboss').split(',').filter(Boolean) as EngineName[];
  for (const e of engines) if (e !== 'bullmq' && e !== 'pgboss') throw new Error(`CHAOS_ENGINES: unknown engine "${e}" (bullmq, pgboss)`);
  return { scale, engines, selected: scenarios.filter((s) => only.length === 0 || only.includes(s.name)) };
}

const started = Date.now();
const { scale, engines, selected } = settings();
const h = new Harness();
const rows: Row[] = [];
try {
  const smtp = await ChaosSmtp.start();
  h.onClose(() => smtp.down());
  const es = await startEsStandin(h);
  for (const engine of engines) rows.push(...(await runEngine(h, engine, selected, scale, { smtp, es })));
} catch (err) {
  console.error(`chaos run aborted: ${(err as Error).stack}`);
  process.exitCode = 2;
} finally {
  await h.close();
}
const load = loadavg()
  .map((l) => l.toFixed(1))
  .join(' ');
printReport(
  rows,
  `npm run chaos: CHAOS_SCALE=${scale}, ${Math.round((Date.now() - started) / 1000)} s, load average ${load}, node ${process.version}`,
);
const failing = rows.filter(failed);
console.log(
  `\n${rows.length - failing.length - rows.filter((r) => r.skipped).length} passed, ${failing.length} failed, ${rows.filter((r) => r.skipped).length} skipped`,
);
if (failing.length > 0 && !process.exitCode) process.exitCode = 1;
process.exit();
