// `npm run chaos`: real processes under real faults, on each engine, with a table of what was
// acknowledged, completed, lost, duplicated, dead-lettered, how the API answered during each fault and
// how long recovery took. Exits 1 when a scenario fails. Not part of `npm test` (docs/reliability.md).
//   CHAOS_SCALE=10          longer runs: more jobs, longer outages (SMTP down 2 minutes)
//   CHAOS_ONLY=a,b          only these scenarios
//   CHAOS_ENGINES=pgboss    only these engines (default bullmq,pgboss)
import { loadavg } from 'node:os';
import { freePort, Harness } from './harness.ts';
import { type EngineName, Platform, type Services } from './platform.ts';
import { failed, printReport, type Row } from './report.ts';
import type { Scenario } from './scenario.ts';
import { esFaults, smtpOutage } from './scenarios/dependencies.ts';
import { postgresRestartFast, postgresRestartImmediate, redisRestart, webKillBulk } from './scenarios/stores.ts';
import { workerKillStorm, workerSigtermLong } from './scenarios/workers.ts';
import { ChaosSmtp, PrivatePostgres, PrivateRedis, startEsStandin } from './services.ts';

const scenarios: Scenario[] = [
  workerKillStorm,
  workerSigtermLong,
  webKillBulk,
  redisRestart,
  postgresRestartFast,
  postgresRestartImmediate,
  smtpOutage,
  esFaults,
];

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

const log = (line: string) => console.error(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`);

/** After a scenario: every process it did not mean to leave dead is a failure; bring them back for the next one. */
async function restoreHealth(platform: Platform): Promise<string[]> {
  const problems: string[] = [];
  if (!platform.web.alive) {
    problems.push(`web exited by itself (${platform.web.exit?.code ?? platform.web.exit?.signal})`);
    await platform.restartWeb();
  }
  for (const [i, w] of platform.workers.entries()) {
    if (w.alive) continue;
    problems.push(`worker ${i + 1} exited by itself (${w.exit?.code ?? w.exit?.signal})`);
    await platform.respawnWorker(i);
  }
  return problems;
}

async function runEngine(
  h: Harness,
  engine: EngineName,
  selected: Scenario[],
  scale: number,
  shared: Omit<Services, 'redis' | 'postgres'>,
) {
  const rows: Row[] = [];
  const todo = selected.filter((s) => !s.skip(engine));
  for (const s of selected) {
    const why = s.skip(engine);
    if (why) rows.push({ engine, scenario: s.name, skipped: why, ms: 0 });
  }
  if (todo.length === 0) return rows;
  const t0 = Date.now();
  const services: Services = { ...shared };
  if (engine === 'bullmq') services.redis = await PrivateRedis.start(h);
  else services.postgres = await PrivatePostgres.start(h);
  const platform = await Platform.start(h, engine, services, await freePort());
  log(`${engine}: web and two workers up in ${Date.now() - t0} ms (prefix ${platform.prefix})`);
  for (const s of todo) {
    const started = Date.now();
    const mark = platform.api.answers.length;
    log(`${engine} ${s.name}: start`);
    const row: Row = { engine, scenario: s.name, ms: 0 };
    try {
      row.result = await s.run({
        h,
        platform,
        services,
        engine,
        scale,
        log: (l) => log(`${engine} ${s.name}: ${l}`),
        answers: () => platform.api.answers.slice(mark),
      });
      row.result.failures.push(...(await restoreHealth(platform)));
    } catch (err) {
      row.error = (err as Error).stack ?? String(err);
      await restoreHealth(platform).catch((e) => log(`could not restore the platform: ${(e as Error).message}`));
    }
    row.ms = Date.now() - started;
    log(`${engine} ${s.name}: ${row.error ? 'ERROR' : failed(row) ? 'FAIL' : 'pass'} in ${Math.round(row.ms / 1000)} s`);
    rows.push(row);
  }
  await platform.stop();
  await services.redis?.proc?.kill();
  await services.postgres?.proc?.kill();
  return rows.sort((a, b) => selected.findIndex((s) => s.name === a.scenario) - selected.findIndex((s) => s.name === b.scenario));
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
