// The dashboard's side of the audit log (core/audit.ts): every POST/PUT/PATCH/DELETE a signed-in user makes
// (our forms and Bull Board's API calls) and every sign-in attempt is recorded with its outcome before the
// response leaves; GET /admin/audit shows the log (admins).
import type { NextFunction, Request, Response, Router } from 'express';
import { type AuditLog, CURSOR } from '../core/audit.ts';
import { auditResponse } from '../core/http/route.ts';
import type { AuditEntry } from '../core/stores.ts';
import { auditFilterOf, auditQuery } from '../producers/routes/audit.ts';
import { requireRole } from './auth.ts';
import { html, jsonText, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';

export interface DashboardAction {
  action: string;
  target: string | null;
  detail?: Record<string, unknown>;
}

const seg = (s: string | undefined) => decodeURIComponent(s ?? '');

/** Bull Board's API (`/board/api/queues/…`) in the audit log's words: queue.pause, job.retry … */
function boardAction(method: string, rest: string[]): DashboardAction {
  const [q, a, b, c] = rest.map(seg);
  if (rest.length === 1) return { action: `queue.${q}`, target: 'queue:*' };
  if (rest.length === 2) return { action: `queue.${a}`, target: `queue:${q}` };
  if (a === 'retry' || a === 'clean') return { action: `queue.${a}`, target: `queue:${q}`, detail: { status: b } };
  if (a === 'rate-limit') return { action: 'queue.rate-limit-release', target: `queue:${q}` };
  if (a === 'job-schedulers')
    return { action: `queue.job-scheduler-${c ?? method.toLowerCase()}`, target: `queue:${q}`, detail: { scheduler: b } };
  if (rest.length === 3) return { action: `job.${b}`, target: `job:${a}`, detail: { queue: q } };
  return { action: `board.${method.toLowerCase()}`, target: `queue:${q}` };
}

/** Our own dashboard paths (relative to /admin) as audit actions; unknown ones keep their path. */
export function dashboardAction(method: string, path: string): DashboardAction {
  const parts = path.split('/').filter(Boolean);
  const [a, b, c] = parts.map(seg);
  if (path === '/login') return { action: 'session.sign-in', target: null };
  if (path === '/logout') return { action: 'session.sign-out', target: null };
  if (a === 'board' && b === 'api' && c === 'queues' && parts.length > 3)
    return { ...boardAction(method, parts.slice(3)), detail: { path } };
  if (a === 'queues' && parts.length === 3) return { action: `queue.${parts[2]}`, target: `queue:${b}` };
  if (a === 'dead-letters' && parts[2] === 'replay') return { action: 'dead-letter.replay', target: `job:${b}` };
  if (a === 'jobs' && b === 'actions') return { action: parts.length === 2 ? 'jobs.bulk-action-review' : 'jobs.bulk-action', target: null };
  if (a === 'schedules' && parts.length === 3) return { action: `schedule.${parts[2]}`, target: `schedule:${b}` };
  return { action: `dashboard.${method.toLowerCase()}`, target: null, detail: { path: path.slice(0, 200) } };
}

const SAFE = ['GET', 'HEAD', 'OPTIONS'];

/**
 * Records every unsafe request of a signed-in user, and sign-in attempts (not the rate-limited or
 * CSRF-refused ones, which anyone can make in bulk). Mount after the session is read.
 */
export function recordDashboard(audit: AuditLog) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (SAFE.includes(req.method)) return next();
    const path = req.path;
    const what = dashboardAction(req.method, path);
    const user = req.dashboardUser?.user;
    auditResponse(res, async (status) => {
      let actor = user;
      if (what.action === 'session.sign-in') {
        if (status === 403 || status === 429) return;
        const given = (req.body as Record<string, unknown> | undefined)?.user;
        actor = typeof given === 'string' ? given.slice(0, 64) : '';
      }
      if (!actor) return;
      await audit.record({
        actor,
        actorType: 'user',
        via: 'dashboard',
        ...what,
        target: what.action === 'session.sign-in' ? `user:${actor}` : what.target,
        requestId: req.requestId,
        status,
      });
    });
    next();
  };
}

function entryRow(e: AuditEntry): SafeHtml {
  return html`<tr data-outcome="${e.outcome}"><td>${e.at}</td><td class="actor">${e.actor}</td><td>${e.via}</td><td class="action">${e.action}</td>
<td class="target">${e.target ?? ''}</td><td>${e.outcome} (${e.status})</td><td><code>${e.requestId}</code></td><td>${e.detail ? jsonText(e.detail, 300) : ''}</td></tr>`;
}

/** GET /admin/audit: the newest entries, filtered like GET /v1/audit, a page at a time. */
export function auditPage(router: Router, audit: AuditLog) {
  router.get('/audit', requireRole('admin'), async (req, res) => {
    const raw = Object.fromEntries(Object.entries(req.query).filter(([k, v]) => typeof v === 'string' && v !== '' && k !== 'msg'));
    const parsed = auditQuery.safeParse({ limit: '50', ...raw });
    const q = parsed.success ? parsed.data : auditQuery.parse({ limit: '50' });
    const problem = parsed.success ? '' : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    const { entries, next } = await audit.store.list(auditFilterOf(q), q.limit, q.cursor);
    const field = (name: 'actor' | 'action' | 'target', label: string) =>
      html`<label>${label} <input name="${name}" value="${q[name] ?? ''}" maxlength="300"></label>`;
    const outcome = html`<label>Outcome <select name="outcome"><option value="">(any)</option>${['ok', 'denied', 'failed'].map(
      (o) => html`<option${o === q.outcome ? html` selected` : ''}>${o}</option>`,
    )}</select></label>`;
    const older = next && CURSOR.test(next) ? new URLSearchParams({ ...raw, cursor: next }).toString() : '';
    const body = html`<form method="get" action="/admin/audit" id="audit-filter">${field('actor', 'Who')}${field('action', 'Action (queue. = every queue action)')}${field('target', 'Target')}${outcome}<button type="submit">Filter</button></form>
${problem ? html`<p class="error">${problem}</p>` : ''}
${
  entries.length
    ? html`<table id="audit"><thead><tr><th>When</th><th>Who</th><th>Via</th><th>Action</th><th>Target</th><th>Outcome</th><th>Request</th><th>Detail</th></tr></thead><tbody>${entries.map(entryRow)}</tbody></table>`
    : html`<p class="muted">No entries.</p>`
}${older ? html`<p><a id="older" href="/admin/audit?${older}">Older entries</a></p>` : ''}`;
    res.type('html').send(layout('Audit log', req.dashboardUser, body));
  });
}
