// What a pg-boss drain costs Postgres, per job: `npx tsx test/bench/pgboss-statements.ts [n]` against a
// server with pg_stat_statements loaded (PGSTAT_DATABASE_URL; a private one, never the shared server's
// config). Ours (the engine through the worker runtime, c=50) and raw pg-boss 12 (batch 500 + notify)
// each drain n no-op jobs enqueued beforehand; printed per job: statements, rows, Postgres time, WAL bytes,
// row versions (HOT or not), and the job row's size.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { pino } from 'pino';
import { PgbossEngine } from '../../core/engines/pgboss/engine.ts';
import { toEnqueueRequest, validateJob } from '../../producers/enqueue.ts';
import { queueNames } from '../../workers/catalog.ts';
import { loadConfig } from '../../workers/config.ts';
import { startWorkers } from '../../workers/runtime.ts';

const URL = process.env.PGSTAT_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:55433/bench';
const n = Number(process.argv[2] ?? 20_000);
const logger = pino({ level: 'warn' });
const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', LOG_LEVEL: 'warn' });
const admin = new pg.Client({ connectionString: URL });
await admin.connect();
const one = async (sql: string, v: unknown[] = []) => (await admin.query(sql, v)).rows[0];

const until = async (cond: () => boolean) => {
  const end = Date.now() + 300_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error('deadline');
    await new Promise((r) => setTimeout(r, 5));
  }
};

async function tableStats(schema: string) {
  return one(
    `SELECT coalesce(sum(n_tup_upd),0)::bigint upd, coalesce(sum(n_tup_hot_upd),0)::bigint hot, coalesce(sum(n_tup_ins),0)::bigint ins
       FROM pg_stat_user_tables WHERE schemaname = $1`,
    [schema],
  );
}

async function measure(label: string, schema: string, drain: () => Promise<void>) {
  await admin.query('SELECT pg_stat_force_next_flush()').catch(() => {});
  const row = await one(
    `SELECT avg(pg_column_size(j.*))::int row_bytes, avg(pg_column_size(j.data))::int data_bytes, avg(pg_column_size(j.output))::int output_bytes FROM ${schema}.job j`,
  );
  await new Promise((r) => setTimeout(r, 700));
  const t0s = await tableStats(schema);
  await admin.query('SELECT pg_stat_statements_reset()');
  const lsn0 = (await one('SELECT pg_current_wal_lsn() l')).l;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await drain();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const wal = (await one('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::bigint d', [lsn0])).d;
  await new Promise((r) => setTimeout(r, 700));
  const t1s = await tableStats(schema);
  const done = await one(
    `SELECT avg(pg_column_size(j.*))::int row_bytes, avg(pg_column_size(j.output))::int output_bytes FROM ${schema}.job j WHERE state='completed'`,
  );
  const st = (
    await admin.query(
      `SELECT calls, rows, round(total_exec_time::numeric, 1) ms, shared_blks_hit + shared_blks_read blks, wal_bytes, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) q
         FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat%' AND query NOT ILIKE '%pg_current_wal%' ORDER BY total_exec_time DESC LIMIT 14`,
    )
  ).rows;
  const totalMs = st.reduce((s, r) => s + Number(r.ms), 0);
  const totalCalls = st.reduce((s, r) => s + Number(r.calls), 0);
  console.log(
    `\n== ${label}: ${n} jobs in ${Math.round(wall)} ms = ${Math.round(n / (wall / 1000))} jobs/s; node CPU ${Math.round((cpu.user + cpu.system) / 1000)} ms (${(((cpu.user + cpu.system) / 1000 / wall) * 100).toFixed(0)} % of wall)`,
  );
  console.log(
    `   per job: statements ${(totalCalls / n).toFixed(3)}, PG exec ${((totalMs * 1000) / n).toFixed(1)} µs, WAL ${Math.round(Number(wal) / n)} B, row updates ${((t1s.upd - t0s.upd) / n).toFixed(2)} (HOT ${((t1s.hot - t0s.hot) / n).toFixed(2)}), inserts ${((t1s.ins - t0s.ins) / n).toFixed(2)}`,
  );
  console.log(
    `   job row: ${row.row_bytes} B queued (data ${row.data_bytes} B, output ${row.output_bytes ?? 0} B), ${done?.row_bytes} B completed (output ${done?.output_bytes ?? 0} B)`,
  );
  for (const r of st)
    console.log(
      `   ${String(r.calls).padStart(7)} calls ${String(r.rows).padStart(7)} rows ${String(r.ms).padStart(8)} ms ${String(r.wal_bytes).padStart(10)} WAL B  ${r.q}`,
    );
}

const noop = (() => {
  const v = validateJob({ name: 'diagnostics.noop', data: {} });
  if (!v.ok) throw new Error('bad');
  return v.job;
})();

async function ours() {
  const schema = `cvstat_ours_${randomBytes(3).toString('hex')}`;
  const engine = new PgbossEngine({ databaseUrl: URL, schema, logger, queues: queueNames, maxConnections: 10 });
  for (let i = 0; i < n; i += 1000)
    await engine.enqueueMany(Array.from({ length: Math.min(1000, n - i) }, () => toEnqueueRequest(noop, config)));
  // experiments (not the engine's behaviour): PGSTAT_DROP=doc,time drops job-search indexes, PGSTAT_GIN_SQL runs a statement,
  // PGSTAT_SMALL_DATA=1 rewrites each envelope to kind + maxAttempts only (then VACUUM FULL)
  for (const ix of (process.env.PGSTAT_DROP ?? '').split(',').filter(Boolean))
    await admin.query(`DROP INDEX ${schema}.conveyor_job_search_${ix}`);
  if (process.env.PGSTAT_GIN_SQL) await admin.query(process.env.PGSTAT_GIN_SQL.replaceAll('{schema}', schema));
  if (process.env.PGSTAT_SMALL_DATA) {
    await admin.query(
      `UPDATE ${schema}.job SET data = jsonb_build_object('$conveyor', jsonb_build_object('kind', 'diagnostics.noop', 'maxAttempts', 5)) WHERE name = 'default'`,
    );
    await admin.query(`VACUUM FULL ${schema}.job_common`);
  }
  let done = 0;
  let rt: ReturnType<typeof startWorkers> | undefined;
  await measure('ours', schema, async () => {
    rt = startWorkers({ engine, logger, handlers: { 'diagnostics.noop': async () => void done++ }, queues: { default: 50 } });
    await until(() => done >= n);
    await rt.close(5_000);
  });
  await engine.close();
  await admin.query(`DROP SCHEMA ${schema} CASCADE`);
}

async function raw() {
  const schema = `cvstat_raw_${randomBytes(3).toString('hex')}`;
  const boss = new PgBoss({ connectionString: URL, schema, max: 10, useListenNotify: true, schedule: false });
  boss.on('error', () => {});
  await boss.start();
  await boss.createQueue('default', { notify: true });
  for (let i = 0; i < n; i += 1000)
    await boss.insert(
      'default',
      Array.from({ length: Math.min(1000, n - i) }, () => ({ data: {} })),
    );
  let done = 0;
  await measure('raw pg-boss', schema, async () => {
    await boss.work('default', { batchSize: 500, localConcurrency: 2, burstWhenBatchFull: true }, async (jobs) => {
      done += jobs.length;
    });
    await until(() => done >= n);
    await boss.offWork('default', { wait: true });
  });
  await boss.stop({ graceful: false, close: true });
  await admin.query(`DROP SCHEMA ${schema} CASCADE`);
}

const which = process.argv[3] ?? 'both';
if (which !== 'ours') await raw();
if (which !== 'raw') await ours();
await admin.end();
process.exit();
