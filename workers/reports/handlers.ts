// Handler module for `report.generate`: runs the named report into REPORTS_DIR and returns a signed download
// link. Emailing the link is a flow's next job (email.send with dataFrom, README.md), not this handler's.
// Without a reports database the module serves nothing, so the reports queue is not consumed: jobs wait.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { PermanentError } from '../../core/errors/index.ts';
import type { HandlerContext, HandlerDeps, HandlerFactory, HandlersFor } from '../../core/handler.ts';
import { publicBaseUrl } from '../../core/http/public-url.ts';
import type { PayloadOf } from '../../core/kinds.ts';
import type { ReportsConfig } from './config.ts';
import { createReportsPool, demoEnabled, reportsDatabaseUrl } from './database.ts';
import { type ReportDefinition, reportDefinition } from './definitions.ts';
import { seedDemoOrders } from './demo-data.ts';
import { createDownloadLink, signingSecrets } from './download-links.ts';
import { type reportsKinds, reportsQueues } from './kinds.ts';
import { type ReportProgress, runReport } from './run-report.ts';
import { LocalReportStorage, type ReportStorage, reportsDir } from './storage.ts';

const SWEEP_INTERVAL_MS = 60 * 60_000;

type GeneratePayload = PayloadOf<(typeof reportsKinds)['report.generate']>;

export interface ReportsHandlerOptions {
  storage?: ReportStorage;
  /** for tests: a clock for link expiry */
  now?: () => number;
}

export function createReportsModule(options: ReportsHandlerOptions = {}): HandlerFactory<HandlersFor<typeof reportsKinds>, ReportsConfig> {
  return async ({ config, logger }: HandlerDeps<ReportsConfig>) => {
    const log = logger.child({ module: 'reports' });
    const url = reportsDatabaseUrl(config);
    if (!url) {
      log.warn('REPORTS_DATABASE_URL is not set: report.generate jobs wait in the reports queue until it is');
      return { handlers: {}, close: async () => {} };
    }
    const secrets = signingSecrets(config);
    if (!secrets) throw new Error('REPORTS_SIGNING_SECRET is required in production'); // config rejects this earlier
    const now = options.now ?? Date.now;
    const storage = options.storage ?? new LocalReportStorage(reportsDir(config));
    const concurrency = config.WORKER_QUEUES.reports ?? reportsQueues.reports.concurrency;
    const pool: pg.Pool = createReportsPool(url, { max: concurrency + 1, applicationName: `conveyor-reports:${config.QUEUE_PREFIX}` });
    pool.on('error', (err) => log.warn({ err: err.message }, 'reports database: idle connection error'));

    if (demoEnabled(config)) {
      try {
        await seedDemoOrders(pool);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'could not create the demo table (demo.orders will fail until it exists)');
      }
    }

    const sweep = async () => {
      try {
        const removed = await storage.removeOlderThan(new Date(now() - config.REPORTS_RETENTION_SECONDS * 1000));
        if (removed > 0) log.info({ removed }, 'old report files removed');
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'report file sweep failed');
      }
    };
    void sweep();
    const timer = setInterval(sweep, SWEEP_INTERVAL_MS).unref();

    const reports: Reports = { config, pool, storage, secrets, now };
    const running = new Set<AbortController>();

    async function generate(payload: GeneratePayload, ctx: HandlerContext) {
      const definition = reportDefinition(payload.report);
      if (!definition) throw new PermanentError(`unknown report "${payload.report}"`);
      const id = randomBytes(16).toString('base64url');
      // close() aborts runs the runtime abandoned at shutdown, so the pool can end (the job is retried)
      const shutdown = new AbortController();
      running.add(shutdown);
      try {
        return await generateFile(reports, { payload, ctx, definition, id, signal: AbortSignal.any([ctx.signal, shutdown.signal]) });
      } finally {
        running.delete(shutdown);
      }
    }

    return {
      handlers: { 'report.generate': generate },
      close: async () => {
        clearInterval(timer);
        for (const run of running) run.abort(new Error('worker shutting down'));
        await Promise.race([pool.end(), sleep(10_000)]);
      },
    };
  };
}

/** What every run of this worker's reports module shares. */
interface Reports {
  config: ReportsConfig;
  pool: pg.Pool;
  storage: ReportStorage;
  secrets: string[];
  now: () => number;
}

interface Run {
  payload: GeneratePayload;
  ctx: HandlerContext;
  definition: ReportDefinition;
  id: string;
  signal: AbortSignal;
}

async function generateFile(r: Reports, { payload, ctx, definition, id, signal }: Run) {
  const progress = progressReporter(ctx);
  const meta = await runReport({
    pool: r.pool,
    storage: r.storage,
    definition,
    params: payload.params,
    format: payload.format,
    id,
    signal,
    onProgress: progress.report,
  });
  await progress.flushed();
  const link = createDownloadLink({
    baseUrl: publicBaseUrl(r.config),
    id,
    secrets: r.secrets,
    ttlSeconds: r.config.REPORTS_LINK_TTL_SECONDS,
    now: r.now(),
  });
  ctx.log.info({ reportId: id, report: meta.report, rows: meta.rows, bytes: meta.bytes }, 'report written');

  return {
    reportId: id,
    report: meta.report,
    format: meta.format,
    filename: meta.filename,
    rows: meta.rows,
    bytes: meta.bytes,
    download: link.url,
    expiresAt: link.expiresAt,
  };
}

/** Progress goes to the queue store one update at a time; the newest waiting one wins. */
function progressReporter(ctx: HandlerContext) {
  let latest: ReportProgress | undefined;
  let pending: Promise<void> | undefined;
  const drain = async () => {
    while (latest) {
      const p = latest;
      latest = undefined;
      await ctx.progress(p).catch((err) => ctx.log.warn({ err: (err as Error).message }, 'progress update failed'));
    }
    pending = undefined;
  };
  return {
    report: (p: ReportProgress) => {
      latest = p;
      pending ??= drain();
    },
    flushed: async () => {
      await pending;
    },
  };
}
