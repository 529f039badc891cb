// What the email domain shows in the dashboard: template previews (MJML compiled once) and, outside
// production, the mail catcher's store.
import type { DashboardDeps, DashboardSources, EmailSource } from '../../core/domain.ts';
import { type CaughtMailStore, caughtMailStore } from './caught-mail.ts';
import { listTemplates, renderPreview } from './templates.ts';

export function emailSource({ config, backend }: DashboardDeps): EmailSource {
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

export const emailDashboard = async (deps: DashboardDeps): Promise<DashboardSources> => ({ email: emailSource(deps) });
