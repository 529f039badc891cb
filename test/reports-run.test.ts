// The report runner against real PostgreSQL: exact CSV / JSON Lines output, bound parameters, SQL
// errors, and abort (cancel or timeout) mid-query and mid-stream leaving no file and no busy backend.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { z } from 'zod';
import { PermanentError } from '../core/errors/index.ts';
import { createReportsPool } from '../workers/reports/database.ts';
import { type ReportDefinition, reportDefinition } from '../workers/reports/definitions.ts';
import { seedDemoOrders } from '../workers/reports/demo-data.ts';
import { type ReportProgress, runReport } from '../workers/reports/run-report.ts';
import { LocalReportStorage } from '../workers/reports/storage.ts';
import { waitFor } from './helpers.ts';
import { busyBackends, filesIn, tempDir, testSchema } from './reports-db.ts';

async function fixture() {
  const db = await testSchema();
  const dir = await tempDir();
  const applicationName = `cvt-reports-${db.schema}`;
  const pool = createReportsPool(db.url, { max: 3, applicationName });
  pool.on('error', () => {});
  onTestFinished(() => pool.end());
  return { ...db, dir, pool, applicationName, storage: new LocalReportStorage(dir) };
}

const plain = (sql: string, args: (p: any) => unknown[] = () => []): ReportDefinition => ({
  name: 'test.report',
  description: 'test',
  params: z.strictObject({}).passthrough(),
  sql,
  args,
  filename: () => 'test',
});

const live = () => new AbortController().signal;

/** The backend exits shortly after its connection closes; poll with a deadline. */
const noBusyBackends = (f: { admin: Awaited<ReturnType<typeof testSchema>>['admin']; applicationName: string }) =>
  waitFor(async () => (await busyBackends(f.admin, f.applicationName)).length === 0, { timeoutMs: 10_000, what: 'no busy report backend' });

describe('report runner', () => {
  it('writes RFC 4180 CSV: quotes commas, quotes, CR/LF; NULL empty, empty string ""; exact types', async () => {
    const f = await fixture();
    await f.admin.query(`
      CREATE TABLE ${f.schema}.tricky (id int, name text, note text, amount numeric(10,2), ok boolean,
                                       at timestamptz, d date, data jsonb, raw bytea, big bigint);
      INSERT INTO ${f.schema}.tricky VALUES
        (1, 'plain', NULL, 1.5, true, '2026-01-02 03:04:05.123456+00', '2026-01-02', '{"a": 1}', '\\x00ff', 9007199254740993),
        (2, 'comma, inside', 'say "hi"', -2, false, '2026-06-30 23:59:59+02', '1999-12-31', '[1, "x"]', '', 0),
        (3, '', E'line1\\nline2', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        (4, E'cr\\rhere', '"', 0, true, '2026-01-01 00:00:00+00', '2026-01-01', '"s"', NULL, -1),
        (5, 'ünïcödé 李', ' spaced ', 3.25, false, '2026-01-01 00:00:00+00', '2026-01-01', 'null', NULL, 1)`);
    const meta = await runReport({
      pool: f.pool,
      storage: f.storage,
      definition: plain('SELECT * FROM tricky ORDER BY id'),
      params: {},
      format: 'csv',
      id: 'csv1',
      signal: live(),
    });
    const text = await readFile(join(f.dir, 'csv1.data'), 'utf8');
    expect(text).toBe(
      [
        'id,name,note,amount,ok,at,d,data,raw,big',
        '1,plain,,1.50,true,2026-01-02 03:04:05.123456+00,2026-01-02,"{""a"": 1}",\\x00ff,9007199254740993',
        '2,"comma, inside","say ""hi""",-2.00,false,2026-06-30 21:59:59+00,1999-12-31,"[1, ""x""]",\\x,0',
        '3,"","line1\nline2",,,,,,,',
        '4,"cr\rhere","""",0.00,true,2026-01-01 00:00:00+00,2026-01-01,"""s""",,-1',
        '5,ünïcödé 李, spaced ,3.25,false,2026-01-01 00:00:00+00,2026-01-01,null,,1',
        '',
      ].join('\r\n'),
    );
    expect(meta).toMatchObject({ id: 'csv1', rows: 5, bytes: Buffer.byteLength(text), format: 'csv', filename: 'test.csv' });
    expect(meta.contentType).toMatch(/^text\/csv/);
  });

  it('writes JSON Lines with keys in column order, and a header-only CSV for no rows', async () => {
    const f = await fixture();
    const def = plain(`SELECT 1 AS n, 'a"b' AS s, NULL::text AS z, '2026-01-02'::date AS d, 12345678901234::bigint AS big
                        UNION ALL SELECT 2, E'x\\ny', 'q', NULL, NULL`);
    await runReport({ pool: f.pool, storage: f.storage, definition: def, params: {}, format: 'jsonl', id: 'j1', signal: live() });
    const lines = (await readFile(join(f.dir, 'j1.data'), 'utf8')).split('\n');
    expect(lines).toEqual([
      '{"n":1,"s":"a\\"b","z":null,"d":"2026-01-02","big":"12345678901234"}',
      '{"n":2,"s":"x\\ny","z":"q","d":null,"big":null}',
      '',
    ]);
    const empty = await runReport({
      pool: f.pool,
      storage: f.storage,
      definition: plain('SELECT 1 AS "a,b", 2 AS c WHERE false'),
      params: {},
      format: 'csv',
      id: 'e1',
      signal: live(),
    });
    expect(empty.rows).toBe(0);
    expect(await readFile(join(f.dir, 'e1.data'), 'utf8')).toBe('"a,b",c\r\n');
  });

  it('binds parameters: an injection attempt stays data', async () => {
    const f = await fixture();
    const client = await f.pool.connect();
    await seedDemoOrders(client, 200);
    client.release();
    const evil = "x' OR '1'='1'; DROP TABLE demo_orders; --";
    await f.admin.query(
      `INSERT INTO ${f.schema}.demo_orders (id, created_at, customer, email, country, status, amount, note)
       VALUES (100000, '2026-01-01 10:00:00+00', $1, 'evil@example.com', 'GB', 'paid', 1, NULL)`,
      [evil],
    );
    const def = reportDefinition('demo.orders') as ReportDefinition;
    const params = def.params.parse({ from: '2025-01-01', to: '2027-12-31', customer: evil });
    const meta = await runReport({ pool: f.pool, storage: f.storage, definition: def, params, format: 'jsonl', id: 'inj', signal: live() });
    const rows = (await readFile(join(f.dir, 'inj.data'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(meta.rows).toBe(1);
    expect(rows[0]).toMatchObject({ id: '100000', customer: evil });
    const count = await f.admin.query(`SELECT count(*)::int AS n FROM ${f.schema}.demo_orders`);
    expect(count.rows[0].n).toBe(201);

    // the same through `status`, which the schema rejects before any SQL runs
    expect(def.params.safeParse({ from: '2026-01-01', to: '2026-01-02', status: "paid' --" }).success).toBe(false);
  });

  it('runs the query read-only', async () => {
    const f = await fixture();
    await f.admin.query(`CREATE TABLE ${f.schema}.victim (id int); INSERT INTO ${f.schema}.victim VALUES (1)`);
    const err = await runReport({
      pool: f.pool,
      storage: f.storage,
      definition: plain('WITH gone AS (DELETE FROM victim RETURNING id) SELECT * FROM gone'),
      params: {},
      format: 'csv',
      id: 'ro',
      signal: live(),
    }).catch((e) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toMatch(/read-only transaction.*SQLSTATE 25006|SQLSTATE/);
    expect((await f.admin.query(`SELECT count(*)::int AS n FROM ${f.schema}.victim`)).rows[0].n).toBe(1);
    expect(await filesIn(f.dir)).toEqual([]);
  });

  it('a SQL error in the definition is permanent and leaves no file', async () => {
    const f = await fixture();
    const err = await runReport({
      pool: f.pool,
      storage: f.storage,
      definition: plain('SELECT * FROM no_such_table'),
      params: {},
      format: 'csv',
      id: 'bad',
      signal: live(),
    }).catch((e) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toMatch(/no_such_table.*SQLSTATE 42P01/);
    expect(await filesIn(f.dir)).toEqual([]);
  });

  it('abort while the server is busy: the statement is cancelled on the server, no file is left', async () => {
    const f = await fixture();
    const ac = new AbortController();
    const run = runReport({
      pool: f.pool,
      storage: f.storage,
      definition: plain('SELECT pg_sleep(60) AS slept'),
      params: {},
      format: 'csv',
      id: 'slow',
      signal: ac.signal,
    }).catch((e) => e);
    await waitFor(
      async () => (await busyBackends(f.admin, f.applicationName)).some((b) => b.state === 'active' && /pg_sleep/.test(b.query)),
      {
        timeoutMs: 20_000,
        what: 'pg_sleep running',
      },
    );
    ac.abort(new Error('cancelled by test'));
    const err = await run;
    expect(err.message).toBe('cancelled by test');
    await noBusyBackends(f);
    expect(await filesIn(f.dir)).toEqual([]);
  });

  it('abort mid-stream (after rows were written): stream stopped, connection discarded, partial file removed', async () => {
    const f = await fixture();
    const ac = new AbortController();
    const progress: ReportProgress[] = [];
    const def = reportDefinition('demo.series') as ReportDefinition;
    const run = runReport({
      pool: f.pool,
      storage: f.storage,
      definition: def,
      params: { rows: 10_000_000 },
      format: 'csv',
      id: 'mid',
      signal: ac.signal,
      progressIntervalMs: 0,
      onProgress: (p) => progress.push(p),
    }).catch((e) => e);
    await waitFor(() => progress.some((p) => p.rows >= 5_000), { timeoutMs: 20_000, what: 'rows streaming' });
    expect(await filesIn(f.dir)).toEqual(['mid.part']);
    ac.abort(new Error('stop'));
    const err = await run;
    expect(err.message).toBe('stop');
    const last = progress.at(-1) as ReportProgress;
    expect(last.rows).toBeLessThan(10_000_000);
    expect(last.progress).toBeLessThan(100);
    await noBusyBackends(f);
    expect(await filesIn(f.dir)).toEqual([]);
  });

  it('a timeout signal aborts the same way', async () => {
    const f = await fixture();
    const err = await runReport({
      pool: f.pool,
      storage: f.storage,
      definition: plain('SELECT g, pg_sleep(0.01) FROM generate_series(1, 100000) g'),
      params: {},
      format: 'jsonl',
      id: 'to',
      signal: AbortSignal.timeout(300),
    }).catch((e) => e);
    expect(err.name).toBe('TimeoutError');
    await noBusyBackends(f);
    expect(await filesIn(f.dir)).toEqual([]);
  });

  it('reports progress with rows, bytes and a percentage when the definition counts', async () => {
    const f = await fixture();
    const progress: ReportProgress[] = [];
    const meta = await runReport({
      pool: f.pool,
      storage: f.storage,
      definition: reportDefinition('demo.series') as ReportDefinition,
      params: { rows: 50_000 },
      format: 'csv',
      id: 'p',
      signal: live(),
      progressIntervalMs: 0,
      onProgress: (p) => progress.push(p),
    });
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.at(-1)).toEqual({ progress: 100, rows: 50_000, bytes: meta.bytes });
    const rows = progress.map((p) => p.rows);
    expect(rows).toEqual([...rows].sort((a, b) => a - b));
  });
});
