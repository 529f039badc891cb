// The Job lookup page's search box (the filter of GET /v1/jobs, core/search.ts) and bulk actions by that
// filter with a confirm step showing how many jobs match (operators and admins). Server-rendered, escaped.
import type { Request, Response, Router } from 'express';
import type { BulkAction, BulkActionName } from '../core/bulk-actions.ts';
import { BULK_ACTIONS, type BulkActions } from '../core/bulk-actions.ts';
import type { JobView } from '../core/engine.ts';
import { ApiError } from '../core/http/api-error.ts';
import { JOB_STATES, type JobFilter, narrow, parseFilter, parsePaging } from '../core/search.ts';
import type { JobReads } from '../core/stores.ts';
import { catalogView, jobNames, queueNames, queueOfKind } from '../workers/catalog.ts';
import { type DashboardUser, requireRole } from './auth.ts';
import { html, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';

export interface SearchDeps {
  search: JobReads['search'];
  bulk: BulkActions;
  jobTable(jobs: JobView[]): SafeHtml;
}

const FIELDS = ['kind', 'queue', 'state', 'since', 'until', 'data'] as const;
type Form = Record<(typeof FIELDS)[number], string>;
const everything = { queue: () => true, kind: () => true };
const userOf = (req: Request) => req.dashboardUser as DashboardUser;

/** the posted form; a body in another content type than the form's is not parsed (undefined): an empty form */
const bodyOf = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

function formOf(source: Record<string, unknown>): Form {
  const v = (k: string) => (typeof source[k] === 'string' ? (source[k] as string).slice(0, 2_000) : '');
  return Object.fromEntries(FIELDS.map((k) => [k, v(k).trim()])) as Form;
}

/** The form as the search's parameters: `data` holds one `path=value` per line (`to=ada@*`). */
function filterOf(form: Form): JobFilter {
  const params: Record<string, unknown> = { kind: form.kind, queue: form.queue, state: form.state, since: form.since, until: form.until };
  for (const line of form.data.split(/\r?\n/).filter((l) => l.trim())) {
    const at = line.indexOf('=');
    if (at < 1) throw new ApiError(400, 'invalid_request', `payload condition "${line}": write path=value, e.g. to=ada@*`);
    params[`data.${line.slice(0, at).trim()}`] = line.slice(at + 1).trim();
  }
  return narrow(parseFilter(params, catalogView), catalogView, (k) => queueOfKind(k) as string, everything);
}

const hidden = (form: Form) => FIELDS.map((k) => html`<input type="hidden" name="${k}" value="${form[k]}">`);
const csrf = (req: Request) => html`<input type="hidden" name="_csrf" value="${userOf(req).csrf}">`;
const query = (form: Form, extra: Record<string, string> = {}) =>
  new URLSearchParams({ search: '1', ...Object.fromEntries(FIELDS.filter((k) => form[k]).map((k) => [k, form[k]])), ...extra }).toString();

function send(req: Request, res: Response, title: string, body: SafeHtml, status = 200) {
  res
    .status(status)
    .type('html')
    .send(layout(title, userOf(req), body));
}

/** The search box, filled with what was asked. */
export function searchForm(form: Form): SafeHtml {
  const options = (names: readonly string[], chosen: string) =>
    names.map((n) => html`<option${n === chosen ? html` selected` : ''}>${n}</option>`);
  return html`<form method="get" action="/admin/jobs" id="job-search"><input type="hidden" name="search" value="1">
<label>Kind <select name="kind"><option value="">(any)</option>${options(jobNames, form.kind)}</select></label>
<label>Queue <select name="queue"><option value="">(any)</option>${options(queueNames, form.queue)}</select></label>
<label>State <input name="state" value="${form.state}" size="16" placeholder="dead,failed" title="${JOB_STATES.join(', ')}"></label>
<label>Since <input name="since" value="${form.since}" size="22" placeholder="2026-01-31T00:00Z"></label>
<label>Until <input name="until" value="${form.until}" size="22"></label>
<label>Payload <textarea name="data" rows="2" cols="30" placeholder="to=ada@*">${form.data}</textarea></label>
<button type="submit">Search</button></form>`;
}

function bulkForm(req: Request, form: Form): SafeHtml {
  if (userOf(req).role === 'viewer') return html``;
  return html`<form method="post" action="/admin/jobs/actions" id="bulk-action">${csrf(req)}${hidden(form)}
<label>With every match <select name="action">${BULK_ACTIONS.map((a) => html`<option>${a}</option>`)}</select></label>
<button type="submit">Review…</button></form>`;
}

function progress(a: BulkAction): SafeHtml {
  return html`<table id="bulk-progress" data-status="${a.status}"><tbody>
<tr><th>Action</th><td>${a.action}</td></tr><tr><th>Status</th><td class="status">${a.status}</td></tr>
<tr><th>Matched</th><td>${a.matched}</td></tr><tr><th>Processed</th><td class="processed">${a.processed}</td></tr>
<tr><th>Succeeded</th><td class="succeeded">${a.succeeded}</td></tr><tr><th>Skipped</th><td>${a.skipped}</td></tr>
<tr><th>Failed</th><td>${a.failed} ${a.lastError ?? ''}</td></tr><tr><th>By</th><td>${a.by}</td></tr>
</tbody></table>${a.status === 'running' ? html`<p class="muted">Reload for progress.</p>` : ''}`;
}

/** GET /admin/jobs?search=1…: the results (with a next-page link); undefined when not searching. */
export async function searchResults(req: Request, deps: SearchDeps): Promise<{ body: SafeHtml; status: number } | undefined> {
  const form = formOf(req.query as Record<string, unknown>);
  if (req.query.search !== '1') return undefined;
  try {
    const filter = filterOf(form);
    const page = await deps.search({ ...filter, ...parsePaging({ limit: '50', cursor: req.query.cursor }) });
    const next = page.next ? html`<p><a id="next-page" href="/admin/jobs?${query(form, { cursor: page.next })}">Older jobs →</a></p>` : '';
    return { body: html`${searchForm(form)}<h2>Matching jobs</h2>${deps.jobTable(page.jobs)}${next}${bulkForm(req, form)}`, status: 200 };
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return { body: html`${searchForm(form)}<p class="error" role="alert">${err.message}</p>`, status: err.status };
  }
}

export function mountBulkActions(router: Router, deps: SearchDeps) {
  // step 1: count what matches and ask to confirm
  router.post('/jobs/actions', requireRole('operator'), async (req, res) => {
    const form = formOf(bodyOf(req));
    const action = String(bodyOf(req).action) as BulkActionName;
    if (!BULK_ACTIONS.includes(action)) throw new ApiError(400, 'invalid_request', `no bulk action "${action}"`);
    const matched = await deps.bulk.count(filterOf(form));
    send(
      req,
      res,
      'Confirm bulk action',
      html`<p id="bulk-confirm">${matched} job${matched === 1 ? '' : 's'} match. ${action} ${matched === 1 ? 'it' : 'them all'}?</p>
<form method="post" action="/admin/jobs/actions/confirm">${csrf(req)}${hidden(form)}<input type="hidden" name="action" value="${action}">
<button type="submit" id="confirm">${action} ${matched}</button></form><p><a href="/admin/jobs?${query(form)}">Back to the search</a></p>`,
    );
  });
  // step 2: run it and show its progress
  router.post('/jobs/actions/confirm', requireRole('operator'), async (req, res) => {
    const form = formOf(bodyOf(req));
    const action = String(bodyOf(req).action) as BulkActionName;
    if (!BULK_ACTIONS.includes(action)) throw new ApiError(400, 'invalid_request', `no bulk action "${action}"`);
    const a = await deps.bulk.start(action, filterOf(form), `dashboard:${userOf(req).user}`, req.requestId);
    res.redirect(303, `/admin/jobs/actions/${encodeURIComponent(a.id)}`);
  });
  router.get('/jobs/actions/:id', async (req, res) => {
    const a = await deps.bulk.get(String(req.params.id));
    if (!a) throw new ApiError(404, 'not_found', `no bulk action "${req.params.id}"`);
    send(req, res, 'Bulk action', progress(a));
  });
}
