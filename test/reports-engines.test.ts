// report.generate on every engine (BullMQ and pg-boss): the handler only uses the engine seam, so a
// report completes with its progress and result, and a cancel mid-stream stops the query and leaves no file.
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Engine, JobView } from '../core/engine.ts';
import { toEnqueueRequest, validateJob } from '../producers/enqueue.ts';
import { handlerDeps } from '../workers/handlers.ts';
import { createReportsModule } from '../workers/reports/handlers.ts';
import { startWorkers } from '../workers/runtime.ts';
import { engineFactories } from './engines.ts';
import { quietLogger, testConfig, waitFor } from './helpers.ts';
import { busyBackends, filesIn, tempDir, testSchema } from './reports-db.ts';

for (const factory of engineFactories) {
  describe(`report.generate on ${factory.name}`, async () => {
    const why = await factory.unavailable?.();
    if (why) {
      console.warn(`reports on ${factory.name} skipped: ${why}`);
      it.skip(`${factory.name} unavailable: ${why}`, () => {});
      return;
    }

    async function platform() {
      const db = await testSchema();
      const dir = await tempDir();
      const made = await factory.create();
      onTestFinished(() => made.cleanup());
      const config = testConfig({ REPORTS_DATABASE_URL: db.url, REPORTS_DIR: dir, REPORTS_SIGNING_SECRET: 'x'.repeat(32) });
      const set = await createReportsModule()(handlerDeps({ config, logger: quietLogger, backend: made.backend }));
      const rt = startWorkers({ engine: made.engine, logger: quietLogger, handlers: set.handlers, queues: { reports: 2 } });
      onTestFinished(async () => {
        await rt.close(2_000);
        await set.close();
      });
      const enqueue = async (data: unknown) => {
        const v = validateJob({ name: 'report.generate', data });
        if (!v.ok) throw new Error(JSON.stringify(v.details));
        return (await made.engine.enqueue(toEnqueueRequest(v.job, config))).job;
      };
      return { db, dir, engine: made.engine, config, enqueue, applicationName: `conveyor-reports:${config.QUEUE_PREFIX}` };
    }

    const until = (engine: Engine, id: string, pred: (j: JobView) => boolean, what: string) =>
      waitFor(
        async () => {
          const j = await engine.getJob(id);
          return j && pred(j) ? j : false;
        },
        { timeoutMs: 20_000, what },
      );

    it('completes with the file, its row count and a download link', async () => {
      const p = await platform();
      const job = await p.enqueue({ report: 'demo.series', params: { rows: 2_500 }, format: 'jsonl' });
      const done = await until(p.engine, job.id, (j) => ['completed', 'dead', 'failed'].includes(j.state), 'finished');
      expect(done.state, JSON.stringify(done.error)).toBe('completed');
      const r = done.result as { reportId: string; rows: number; download: string };
      expect(r.rows).toBe(2_500);
      expect(r.download).toContain(`/v1/reports/${r.reportId}/download?expires=`);
      expect(await filesIn(p.dir)).toEqual([`${r.reportId}.data`, `${r.reportId}.json`]);
    });

    it('cancel mid-stream: cancelled, query stopped, no partial file', async () => {
      const p = await platform();
      if (!p.engine.capabilities.cancelActive) {
        console.warn(`[${factory.name}] cancel test skipped: engine declares no cancelActive capability`);
        return;
      }
      const job = await p.enqueue({ report: 'demo.series', params: { rows: 10_000_000 } });
      await waitFor(async () => (await filesIn(p.dir)).some((f) => f.endsWith('.part')), { timeoutMs: 20_000, what: 'report streaming' });
      const outcome = await p.engine.cancel(job.id);
      expect(['cancelled', 'cancelling']).toContain(outcome.outcome);
      const after = await until(p.engine, job.id, (j) => j.state !== 'active', 'left active');
      expect(after.state).toBe('cancelled');
      await waitFor(async () => (await busyBackends(p.db.admin, p.applicationName)).length === 0, {
        timeoutMs: 10_000,
        what: 'report query stopped',
      });
      await waitFor(async () => (await filesIn(p.dir)).length === 0, { timeoutMs: 10_000, what: 'partial file removed' });
    });
  });
}
