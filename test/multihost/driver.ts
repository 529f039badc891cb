// The multihost driver: runs on the load host (started by run.ts under `ip netns exec cvmh-load`), waits for the
// service hosts, runs each engine's scenario, prints the table and writes result.json. Exit 1 when a check fails.
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { waitFor } from './procs.ts';
import { formatTable } from './report.ts';
import { type EngineResult, runEngine } from './scenario.ts';
import { hostNamed, type Plan, PORTS, urls } from './topology.ts';

const plan = JSON.parse(process.env.MULTIHOST_PLAN ?? '{}') as Plan;
const log = (line: string) => console.error(line);

function redisPing(): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(PORTS.redis, hostNamed('redis').address);
    sock.setTimeout(1_000, () => sock.destroy());
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d) => {
      resolve(String(d).startsWith('+PONG'));
      sock.destroy();
    });
    sock.once('error', () => resolve(false));
    sock.once('close', () => resolve(false));
  });
}

async function postgresUp(): Promise<boolean> {
  const client = new pg.Client({ connectionString: urls.postgres(), connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    const r = await client.query<{ v: string }>('select version() as v');
    return Boolean(r.rows[0]?.v);
  } finally {
    await client.end().catch(() => {});
  }
}

async function servicesUp(): Promise<void> {
  await waitFor('redis-server on the Redis host', redisPing, 30_000, 200);
  await waitFor('PostgreSQL on the Postgres host', postgresUp, 60_000, 250);
  await waitFor('SMTP catcher on the mail host', async () => (await fetch(`${urls.mailApi()}/healthz`)).ok, 60_000, 250);
}

function print(results: EngineResult[], out = console.log) {
  const rows = results.flatMap((r) =>
    r.phases.map((p) => ({
      engine: r.engine,
      phase: p.phase,
      'worker hosts': p.workers,
      s: p.seconds,
      acked: p.acked,
      'acked/s': p.ackedPerSec,
      finished: p.finished,
      'finished/s': p.finishedPerSec,
      'noop p50 ms': Number.isNaN(p.p50Ms) ? '' : p.p50Ms,
      'noop p95 ms': Number.isNaN(p.p95Ms) ? '' : p.p95Ms,
      'backlog at end': p.backlogAtEnd,
      'held s': p.heldSeconds,
    })),
  );
  out(`\n${formatTable(rows)}\n`);
  for (const r of results) {
    out(`${r.engine} (${Math.round(r.wallMs / 1000)} s):`);
    for (const c of r.checks) out(`  ${c.ok ? '✓' : '✗'} ${c.what}: ${c.detail}`);
    for (const [k, v] of Object.entries(r.facts)) out(`  · ${k}: ${v}`);
  }
}

async function main() {
  await servicesUp();
  log('service hosts up: redis, postgres, mail');
  const results: EngineResult[] = [];
  let failed = false;
  for (const engine of plan.engines) {
    try {
      const r = await runEngine(plan, engine, log);
      results.push(r);
      print([r], log); // as soon as it is known; the whole table again at the end
      writeFileSync(join(plan.tmp, 'result.json'), JSON.stringify({ plan, results }, null, 2));
    } catch (err) {
      failed = true;
      log(`✗ ${engine} run failed: ${(err as Error).stack ?? err}`);
    }
  }
  writeFileSync(join(plan.tmp, 'result.json'), JSON.stringify({ plan, results }, null, 2));
  print(results);
  return failed || results.some((r) => r.checks.some((c) => !c.ok)) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
