// `conveyor`: a small CLI over the HTTP API for ops habits. CONVEYOR_URL + CONVEYOR_API_KEY (or --url,
// --api-key). `--json` prints the API's JSON for scripts. Exit codes: 0 ok, 1 API or network error,
// 2 bad usage, 3 a waited-for job ended failed/dead/cancelled, 4 --wait timed out.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ApiFailureError } from './api-failure-error.ts';
import { type ApiClient, createClient } from './http-client.ts';
import { renderProgress } from './progress.ts';

const EXIT = { ok: 0, api: 1, usage: 2, jobFailed: 3, waitTimeout: 4 } as const;
const TERMINAL = new Set(['completed', 'failed', 'dead', 'cancelled']);

interface Job {
  id: string;
  name: string;
  queue: string;
  state: string;
  progress: unknown;
  attempts?: { made: number; max: number };
  result?: unknown;
  error?: { message: string } | null;
  createdAt?: string;
  finishedAt?: string | null;
}

interface Globals {
  url: string;
  apiKey?: string;
  json?: boolean;
}

class UsageError extends Error {
  override name = 'UsageError';
}

const int =
  (name: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  (raw: string) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} expects a whole number from ${min} to ${max}`);
    return n;
  };

function parseData(opts: { data?: string; dataFile?: string }): unknown {
  if (opts.data !== undefined && opts.dataFile !== undefined) throw new UsageError('--data and --data-file: give one, not both');
  const raw = opts.dataFile !== undefined ? readFileSync(opts.dataFile === '-' ? 0 : opts.dataFile, 'utf8') : opts.data;
  if (raw === undefined) return {};
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new UsageError(`${opts.dataFile !== undefined ? '--data-file' : '--data'}: not valid JSON (${(err as Error).message})`);
  }
}

const enc = encodeURIComponent;

function print(globals: Globals, data: unknown, human: () => string) {
  process.stdout.write(`${globals.json ? JSON.stringify(data, null, 2) : human()}\n`);
}

function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((r) => columns.map((c) => String(r[c] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] as string).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

function describeJob(j: Job): string {
  const rows: [string, unknown][] = [
    ['id', j.id],
    ['kind', j.name],
    ['queue', j.queue],
    ['state', j.state],
    ['attempts', j.attempts ? `${j.attempts.made}/${j.attempts.max}` : undefined],
    ['progress', j.progress === null || j.progress === undefined ? undefined : JSON.stringify(j.progress)],
    ['created', j.createdAt],
    ['finished', j.finishedAt],
    ['result', j.result === null || j.result === undefined ? undefined : JSON.stringify(j.result)],
    ['error', j.error?.message],
  ];
  return rows
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k.padEnd(9)} ${v}`)
    .join('\n');
}

/**
 * Wait until the job finishes, without polling: long-polls (`?wait=`, ≤ 60 s each), or with a progress bar
 * (stderr: a TTY, or --progress) the job's event stream, redrawn on each state change and progress report.
 */
async function waitForJob(client: ApiClient, id: string, opts: { timeoutS: number; progress: boolean }): Promise<Job> {
  const started = Date.now();
  const deadline = started + opts.timeoutS * 1000;
  let lastLine = '';
  for (let job: Job | undefined; ; ) {
    const left = Math.max(0, deadline - Date.now());
    if (opts.progress) {
      for await (const e of client.events(`/v1/jobs/${enc(id)}/events`, left)) {
        if (e.event !== 'state' && e.event !== 'progress') continue;
        job = JSON.parse(e.data) as Job;
        lastLine = drawProgress(job, started, lastLine);
      }
    } else {
      job = await client.request<Job>('GET', `/v1/jobs/${enc(id)}?wait=${Math.min(60, Math.ceil(left / 1000))}`, undefined, left);
    }
    if (!job) job = await client.request<Job>('GET', `/v1/jobs/${enc(id)}`);
    if (TERMINAL.has(job.state)) {
      if (opts.progress && process.stderr.isTTY) process.stderr.write('\n');
      return job;
    }
    if (Date.now() >= deadline) {
      if (opts.progress && process.stderr.isTTY) process.stderr.write('\n');
      throw Object.assign(new Error(`job ${id} still ${job.state} after ${opts.timeoutS} s`), { exitCode: EXIT.waitTimeout, job });
    }
  }
}

/** Redraw the progress line; returns it. */
function drawProgress(job: Job, started: number, lastLine: string): string {
  const line = renderProgress(job, Date.now() - started);
  if (process.stderr.isTTY) process.stderr.write(`\r${line}`);
  else if (line.replace(/ [\d.]+s /, '') !== lastLine.replace(/ [\d.]+s /, '')) process.stderr.write(`${line}\n`);
  return line;
}

async function finishWait(globals: Globals, client: ApiClient, id: string, opts: { waitTimeout: number; progress?: boolean }) {
  const job = await waitForJob(client, id, { timeoutS: opts.waitTimeout, progress: opts.progress ?? process.stderr.isTTY === true });
  print(globals, job, () => describeJob(job));
  if (job.state !== 'completed') process.exitCode = EXIT.jobFailed;
}

const ctx = (cmd: Command) => {
  const g = cmd.optsWithGlobals<Globals>();
  return { globals: g, client: createClient(g.url, g.apiKey) };
};

const waitOptions = (cmd: Command) =>
  cmd
    .option('--wait', 'wait until the job finishes; exit 3 unless it completed')
    .option('--wait-timeout <seconds>', 'give up waiting after this many seconds (exit 4)', int('--wait-timeout', 1, 86_400), 600)
    .option('--progress', 'draw the progress bar even when stderr is not a terminal');

export function buildProgram(): Command {
  const program = new Command('conveyor')
    .description('Conveyor job platform CLI (over the HTTP API)')
    .option('--url <url>', 'API base URL (env CONVEYOR_URL)', process.env.CONVEYOR_URL ?? 'http://127.0.0.1:3000')
    .option('--api-key <key>', 'API key (env CONVEYOR_API_KEY)', process.env.CONVEYOR_API_KEY)
    .option('--json', 'print JSON (for scripts)')
    .showHelpAfterError()
    .exitOverride();
  jobCommands(program);
  queueCommands(program);
  deadLetterCommands(program);
  scheduleCommands(program);
  scalingCommand(program);
  return program;
}

function jobCommands(program: Command) {
  waitOptions(
    program
      .command('enqueue')
      .description('enqueue a job: conveyor enqueue email.send --data \'{"to":"a@b.c",...}\'')
      .argument('<kind>', 'job kind, e.g. diagnostics.sleep')
      .option('-d, --data <json>', 'payload as JSON')
      .option('--data-file <path>', 'payload from a JSON file (- for stdin)')
      .option('--priority <n>', '1 (most urgent) … 10', int('--priority', 1, 10))
      .option('--delay <ms>', 'ms before the job may run', int('--delay', 0))
      .option('--run-at <iso>', 'ISO-8601 time at which the job may run')
      .option('--attempts <n>', 'total runs, the first included', int('--attempts', 1, 100))
      .option('--idempotency-key <key>', 'a repeated key returns the existing job')
      .option('--timeout <ms>', 'ms a run may take', int('--timeout', 100)),
  ).action(async (kind: string, o, cmd: Command) => {
    const { globals, client } = ctx(cmd);
    const options = Object.fromEntries(
      Object.entries({
        priority: o.priority,
        delay: o.delay,
        runAt: o.runAt,
        attempts: o.attempts,
        idempotencyKey: o.idempotencyKey,
        timeout: o.timeout,
      }).filter(([, v]) => v !== undefined),
    );
    // always keyed (yours, or a fresh one): the client's retries after a 503 or a lost answer make one job
    const key = o.idempotencyKey ?? randomUUID();
    const job = await client.create<Job>('/v1/jobs', { name: kind, data: parseData(o), options }, key);
    if (o.wait) return finishWait(globals, client, job.id, o);
    print(globals, job, () => `enqueued ${job.id} (${job.name} on ${job.queue}, ${job.state})`);
  });

  waitOptions(program.command('job').description('show a job').argument('<id>')).action(async (id: string, o, cmd: Command) => {
    const { globals, client } = ctx(cmd);
    if (o.wait) return finishWait(globals, client, id, o);
    const job = await client.request<Job>('GET', `/v1/jobs/${enc(id)}`);
    print(globals, job, () => describeJob(job));
  });

  program
    .command('cancel')
    .description('cancel a waiting, delayed or running job')
    .argument('<id>')
    .action(async (id: string, _o, cmd: Command) => {
      const { globals, client } = ctx(cmd);
      const job = await client.request<Job & { cancelRequested?: boolean }>('DELETE', `/v1/jobs/${enc(id)}`);
      print(globals, job, () => (job.cancelRequested ? `cancel requested for running job ${id}` : `cancelled ${id}`));
    });
}

function queueCommands(program: Command) {
  program
    .command('queues')
    .description('list queues: depth, age of the oldest waiting job, paused')
    .action(async (_o, cmd: Command) => {
      const { globals, client } = ctx(cmd);
      type Q = { name: string; paused: boolean; counts: Record<string, number>; oldestWaitingAgeSeconds: number };
      const body = await client.request<{ queues: Q[] }>('GET', '/v1/queues');
      print(globals, body, () =>
        table(
          body.queues.map((q) => ({
            ...q.counts,
            queue: q.name,
            paused: q.paused ? 'yes' : '',
            latency: `${q.oldestWaitingAgeSeconds.toFixed(1)}s`,
          })),
          ['queue', 'paused', 'waiting', 'active', 'delayed', 'failed', 'dead', 'latency'],
        ),
      );
    });

  for (const action of ['pause', 'resume'] as const) {
    program
      .command(action)
      .description(`${action} a queue`)
      .argument('<queue>')
      .action(async (queue: string, _o, cmd: Command) => {
        const { globals, client } = ctx(cmd);
        const info = await client.request<{ name: string; paused: boolean }>('POST', `/v1/queues/${enc(queue)}/${action}`);
        print(globals, info, () => `${info.name} ${info.paused ? 'paused' : 'running'}`);
      });
  }
}

function deadLetterCommands(program: Command) {
  const dead = program.command('dead-letters').description('dead letters: list (default) or replay');
  dead
    .command('list', { isDefault: true })
    .description('list dead letters')
    .option('-q, --queue <queue>', 'only this queue')
    .option('--limit <n>', 'at most this many', int('--limit', 1, 1000), 100)
    .action(async (o, cmd: Command) => {
      const { globals, client } = ctx(cmd);
      const qs = new URLSearchParams({ limit: String(o.limit), ...(o.queue ? { queue: o.queue } : {}) });
      type D = { id: string; name: string; queue: string; reason: string; deadAt: string };
      const body = await client.request<{ deadLetters: D[] }>('GET', `/v1/dead-letters?${qs}`);
      print(globals, body, () =>
        table(body.deadLetters as unknown as Record<string, unknown>[], ['id', 'name', 'queue', 'deadAt', 'reason']),
      );
    });
  waitOptions(dead.command('replay').description('replay a dead letter under its own id').argument('<id>')).action(
    async (id: string, o, cmd: Command) => {
      const { globals, client } = ctx(cmd);
      const job = await client.request<Job>('POST', `/v1/dead-letters/${enc(id)}/replay`);
      if (o.wait) return finishWait(globals, client, job.id, o);
      print(globals, job, () => `replayed ${job.id} (${job.name} on ${job.queue}, ${job.state})`);
    },
  );
}

function scheduleCommands(program: Command) {
  const schedules = program.command('schedules').description('schedules: list (default), run, pause, resume');
  schedules
    .command('list', { isDefault: true })
    .description('list schedules with their next runs')
    .action(async (_o, cmd: Command) => {
      const { globals, client } = ctx(cmd);
      type S = {
        name: string;
        cron: string;
        timezone: string;
        enabled: boolean;
        job: { name: string };
        nextRuns: string[];
        lastJob: { state: string } | null;
      };
      const body = await client.request<{ schedules: S[] }>('GET', '/v1/schedules');
      print(globals, body, () =>
        table(
          body.schedules.map((s) => ({
            name: s.name,
            cron: s.cron,
            timezone: s.timezone,
            kind: s.job.name,
            enabled: s.enabled ? 'yes' : 'no',
            next: s.nextRuns[0] ?? '',
            last: s.lastJob?.state ?? '',
          })),
          ['name', 'cron', 'timezone', 'kind', 'enabled', 'next', 'last'],
        ),
      );
    });
  waitOptions(schedules.command('run').description("enqueue a schedule's job now").argument('<name>')).action(
    async (name: string, o, cmd: Command) => {
      const { globals, client } = ctx(cmd);
      const job = await client.request<Job>('POST', `/v1/schedules/${enc(name)}/run`);
      if (o.wait) return finishWait(globals, client, job.id, o);
      print(globals, job, () => `schedule ${name}: enqueued ${job.id} (${job.name})`);
    },
  );
  for (const action of ['pause', 'resume'] as const) {
    schedules
      .command(action)
      .description(`${action} a schedule`)
      .argument('<name>')
      .action(async (name: string, _o, cmd: Command) => {
        const { globals, client } = ctx(cmd);
        const s = await client.request<{ name: string; enabled: boolean }>('POST', `/v1/schedules/${enc(name)}/${action}`);
        print(globals, s, () => `schedule ${s.name} ${s.enabled ? 'enabled' : 'paused'}`);
      });
  }
}

function scalingCommand(program: Command) {
  program
    .command('scaling')
    .description('the scaling signal per process type (GET /v1/scaling)')
    .action(async (_o, cmd: Command) => {
      const { globals, client } = ctx(cmd);
      type P = Record<string, unknown> & { queues: string[] };
      const body = await client.request<{ processTypes: Record<string, P> }>('GET', '/v1/scaling');
      print(globals, body, () =>
        table(
          Object.entries(body.processTypes).map(([type, p]) => ({ ...p, type, queues: p.queues.join(',') })),
          ['type', 'queues', 'depth', 'active', 'latencySeconds', 'throughputPerSecond', 'recommendedReplicas', 'reason'],
        ),
      );
    });
}

function reportError(err: unknown, json: boolean): number {
  if (err instanceof ApiFailureError) {
    const e = err.body.error;
    if (json) process.stdout.write(`${JSON.stringify({ status: err.status, ...err.body }, null, 2)}\n`);
    const lines = [`conveyor: ${err.status ? `${err.status} ` : ''}${e.code}: ${e.message}`];
    for (const d of e.details ?? []) lines.push(`  ${d.path}: ${d.message}`);
    if (e.requestId) lines.push(`  (requestId ${e.requestId})`);
    process.stderr.write(`${lines.join('\n')}\n`);
    return EXIT.api;
  }
  if (err instanceof UsageError || err instanceof InvalidArgumentError) {
    process.stderr.write(`conveyor: ${err.message}\n`);
    return EXIT.usage;
  }
  const withExit = err as Error & { exitCode?: number; job?: unknown };
  if (withExit.exitCode === EXIT.waitTimeout) {
    if (json) process.stdout.write(`${JSON.stringify(withExit.job, null, 2)}\n`);
    process.stderr.write(`conveyor: ${withExit.message}\n`);
    return EXIT.waitTimeout;
  }
  process.stderr.write(`conveyor: ${(err as Error).stack ?? String(err)}\n`);
  return EXIT.api;
}

const program = buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // help and version exit 0; every parse error (unknown command, bad option value) is a usage error
    process.exitCode = err.exitCode === 0 ? 0 : EXIT.usage;
  } else {
    process.exitCode = reportError(err, process.argv.includes('--json'));
  }
}
