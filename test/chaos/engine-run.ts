// One engine's chaos run (the private store, the web and two workers, the scenarios one after the
// other), shared by `npm run chaos` (run.ts) and the short run inside `npm test` (test/chaos.test.ts).
import { freePort, type Harness, type Proc } from './harness.ts';
import { type EngineName, Platform, type Services } from './platform.ts';
import { failed, type Row } from './report.ts';
import type { Scenario } from './scenario.ts';
import { esFaults, smtpOutage } from './scenarios/dependencies.ts';
import { postgresRestartFast, postgresRestartImmediate, redisRestart, webKillBulk } from './scenarios/stores.ts';
import { workerKillStorm, workerSigtermLong } from './scenarios/workers.ts';
import { PrivatePostgres, PrivateRedis } from './services.ts';

export const log = (line: string) => console.error(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`);

/** why a process died, from its last error-level log lines and its stderr (so a CI log names the cause) */
function lastWords(p: Proc): string {
  const errors = p.logs.filter((l) => typeof l.level === 'number' && l.level >= 50).slice(-3);
  const lines = errors.map((l) => JSON.stringify(l).slice(0, 600));
  if (p.stderrTail.trim()) lines.push(`stderr: ${p.stderrTail.trim().slice(-600)}`);
  return lines.length > 0 ? `: ${lines.join(' | ')}` : '';
}

/** After a scenario: every process it did not mean to leave dead is a failure; bring them back for the next one. */
async function restoreHealth(platform: Platform): Promise<string[]> {
  const problems: string[] = [];
  if (!platform.web.alive) {
    problems.push(`web exited by itself (${platform.web.exit?.code ?? platform.web.exit?.signal})${lastWords(platform.web)}`);
    await platform.restartWeb();
  }
  for (const [i, w] of platform.workers.entries()) {
    if (w.alive) continue;
    problems.push(`worker ${i + 1} exited by itself (${w.exit?.code ?? w.exit?.signal})${lastWords(w)}`);
    await platform.respawnWorker(i);
  }
  return problems;
}

/** Every scenario of the suite, in the order a run takes them. */
export const scenarios: Scenario[] = [
  workerKillStorm,
  workerSigtermLong,
  webKillBulk,
  redisRestart,
  postgresRestartFast,
  postgresRestartImmediate,
  smtpOutage,
  esFaults,
];

/** One engine's run: its private store, the platform, then each selected scenario; a row per scenario. */
export async function runEngine(
  h: Harness,
  engine: EngineName,
  selected: Scenario[],
  scale: number,
  shared: Omit<Services, 'redis' | 'postgres'>,
  opts: { fromSource?: boolean } = {},
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
  const platform = await Platform.start(h, engine, services, await freePort(), {}, opts);
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
