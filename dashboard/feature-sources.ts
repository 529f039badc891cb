// Wires the scheduler and email modules into the dashboard's ScheduleSource / EmailSource seams.
import type { Backend } from '../core/backend.ts';
import { listSchedules, setScheduleEnabled } from '../scheduler/admin.ts';
import { scheduleAdminDeps } from '../scheduler/index.ts';
import type { Config } from '../workers/config.ts';
import { type CaughtMailStore, caughtMailStore } from '../workers/email/caught-mail.ts';
import { listTemplates, renderPreview } from '../workers/email/templates.ts';
import type { EmailSource, ScheduleSource } from './features.ts';

/** Schedules from the backend's schedule store. */
export function schedulerSource(config: Config, backend: Backend): ScheduleSource {
  const deps = scheduleAdminDeps(config, backend);
  return {
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
  };
}

/** Template previews (MJML compiled once) and, outside production, the mail catcher's store. */
export function emailSource(config: Config, backend: Backend): EmailSource {
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
      caught ??= caughtMailStore(backend);
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
