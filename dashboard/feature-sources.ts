// Wires the scheduler and email modules into the dashboard's ScheduleSource / EmailSource seams.
import type { Redis } from 'ioredis';
import type { Engine } from '../core/engine.ts';
import { listSchedules, setScheduleEnabled } from '../scheduler/admin.ts';
import { scheduleAdminDeps, scheduleStoreFor } from '../scheduler/index.ts';
import type { Config } from '../workers/config.ts';
import { type CaughtMailStore, caughtMailStore } from '../workers/email/caught-mail.ts';
import { listTemplates, renderPreview } from '../workers/email/templates.ts';
import type { EmailSource, ScheduleSource } from './features.ts';

/** Schedules from the scheduler's store (borrowing `redis` on bullmq); undefined when the engine has none. */
export function schedulerSource(
  config: Config,
  engine: Engine,
  redis: Redis | undefined,
): { source: ScheduleSource; close(): Promise<void> } | undefined {
  const store = scheduleStoreFor(config, engine, redis);
  if (!store) return undefined;
  const deps = scheduleAdminDeps(config, engine, store);
  return {
    source: {
      async list() {
        return (await listSchedules(deps, { nextRuns: 3 })).map((s) => ({
          name: s.name,
          kind: s.job.name,
          cron: s.cron,
          timezone: s.timezone,
          paused: !s.enabled,
          nextRuns: s.nextRuns,
          lastRun: s.lastSlot ? { at: s.lastSlot, jobId: s.lastJob?.id, state: s.lastJob?.state } : null,
        }));
      },
      async pause(name) {
        await setScheduleEnabled(deps, name, false);
      },
      async resume(name) {
        await setScheduleEnabled(deps, name, true);
      },
    },
    close: () => store.close(),
  };
}

/** Template previews (MJML compiled once) and, outside production, the mail catcher's store. */
export function emailSource(config: Config, engine: Engine, redis: Redis | undefined): EmailSource {
  let caught: CaughtMailStore | undefined;
  const summaries = () => listTemplates();
  return {
    async listTemplates() {
      return (await summaries()).map((t) => t.name);
    },
    async sampleVars(name) {
      return (await summaries()).find((t) => t.name === name)?.sample ?? {};
    },
    async renderPreview(name, vars) {
      const r = await renderPreview(name, vars);
      if (!r.ok) {
        if (r.notFound) throw new Error(`no template "${name}"`);
        throw new Error(
          `vars do not match the template: ${r.issues.map((i) => `${i.path.join('.') || '(vars)'}: ${i.message}`).join('; ')}`,
        );
      }
      return r.rendered;
    },
    async listCaughtMail() {
      if (config.NODE_ENV === 'production') return [];
      caught ??= caughtMailStore({ engine, config, redis });
      return (await caught.list(50)).map((m) => ({
        id: m.id,
        to: m.to,
        subject: m.subject,
        at: m.receivedAt,
        html: m.html ?? undefined,
        text: m.text ?? undefined,
      }));
    },
  };
}
