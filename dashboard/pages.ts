// Our own dashboard pages: overview, dead letters, job lookup, schedules, email previews and caught mail.
// Server-rendered HTML through `html` (everything escaped); actions are POST forms carrying the CSRF token.
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { Engine, JobView } from '../core/engine.ts';
import { ApiError } from '../core/http/api-error.ts';
import type { ThroughputStore } from '../core/stores.ts';
import { jobNames, queueNames } from '../workers/catalog.ts';
import { type DashboardUser, requireRole } from './auth.ts';
import type { EmailSource, ScheduleSource } from './features.ts';
import { html, jsonText, type SafeHtml } from './html.ts';
import { mountBulkActions, type SearchDeps, searchForm, searchResults } from './job-search.ts';
import { layout } from './layout.ts';
import { healthSection, readHealth } from './queue-health.ts';
import type { QueueReads } from './queue-reads.ts';

export interface PageDeps {
  engine: Engine;
  reads: QueueReads;
  /** the per-minute finished/failed runs behind the overview's charts (the backend's throughput store) */
  throughput: ThroughputStore;
  /** job search and bulk actions (./job-search.ts) */
  search: Omit<SearchDeps, 'jobTable'>;
  schedules?: ScheduleSource;
  email?: EmailSource;
  /** show caught mail (development only) */
  showCaughtMail: boolean;
  logger: Logger;
}

const HOUR_MS = 3_600_000;

const userOf = (req: Request) => req.dashboardUser as DashboardUser;
const flashOf = (req: Request) => (typeof req.query.msg === 'string' ? req.query.msg.slice(0, 300) : undefined);
const csrfField = (req: Request) => html`<input type="hidden" name="_csrf" value="${userOf(req).csrf}">`;
const canOperate = (req: Request) => userOf(req).role !== 'viewer';

function send(req: Request, res: Response, title: string, body: SafeHtml, status = 200) {
  res
    .status(status)
    .type('html')
    .send(layout(title, userOf(req), body, flashOf(req)));
}

function back(res: Response, path: string, msg: string) {
  res.redirect(303, `${path}?msg=${encodeURIComponent(msg)}`);
}

export function age(seconds: number): string {
  if (seconds <= 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

function queueParam(req: Request): string {
  const name = String(req.params.name);
  if (!(queueNames as string[]).includes(name)) throw new ApiError(404, 'not_found', `no queue "${name}"`);
  return name;
}

function jobTable(jobs: JobView[]): SafeHtml {
  if (jobs.length === 0) return html`<p class="muted">No jobs found.</p>`;
  return html`<table><thead><tr><th>Id</th><th>Kind</th><th>Queue</th><th>State</th><th>Attempts</th><th>Progress</th><th>Created</th><th>Error</th></tr></thead><tbody>
${jobs.map(
  (
    j,
  ) => html`<tr><td><a href="/admin/jobs?id=${encodeURIComponent(j.id)}">${j.id}</a></td><td>${j.name}</td><td>${j.queue}</td><td>${j.state}</td>
<td>${j.attempts.made}/${j.attempts.max}</td><td>${jsonText(j.progress, 100)}</td><td>${j.createdAt}</td><td>${j.error?.message ?? ''}</td></tr>`,
)}</tbody></table>`;
}

function jobDetail(j: JobView): SafeHtml {
  return html`<h2>Job ${j.id}</h2><table class="job-detail"><tbody>
<tr><th>Kind</th><td>${j.name}</td></tr><tr><th>Queue</th><td>${j.queue}</td></tr><tr><th>State</th><td>${j.state}</td></tr>
<tr><th>Attempts</th><td>${j.attempts.made} of ${j.attempts.max}</td></tr><tr><th>Progress</th><td>${jsonText(j.progress, 500)}</td></tr>
<tr><th>Created</th><td>${j.createdAt}</td></tr><tr><th>Started</th><td>${j.startedAt ?? ''}</td></tr><tr><th>Finished</th><td>${j.finishedAt ?? ''}</td></tr>
<tr><th>Failure</th><td>${j.error ? html`<pre>${j.error.message}${j.error.stack ? `\n\n${j.error.stack}` : ''}</pre>` : ''}</td></tr>
</tbody></table><h3>Data</h3><pre class="job-data">${jsonText(j.data)}</pre><h3>Result</h3><pre>${jsonText(j.result)}</pre>`;
}

export function mountPages(router: Router, deps: PageDeps) {
  overviewPage(router, deps);
  queueActions(router, deps);
  deadLetterPages(router, deps);
  jobLookupPage(router, deps);
  mountBulkActions(router, { ...deps.search, jobTable });
  schedulePages(router, deps);
  emailPages(router, deps);
}

function overviewPage(router: Router, deps: PageDeps) {
  const { engine, reads } = deps;
  router.get('/', async (req, res) => {
    const [infos, recent, health] = await Promise.all([
      engine.queueInfo(queueNames),
      Promise.all(queueNames.map((q) => reads.finishedSince(q, HOUR_MS).catch(() => null))),
      readHealth(deps.throughput, queueNames),
    ]);
    const rows = infos.map((q, i) => {
      const r = recent[i];
      const finished = r ? r.completed + r.failed : null;
      const rate = r && finished ? `${((100 * r.failed) / finished).toFixed(1)}%` : r ? '0%' : 'n/a';
      const action = q.paused ? 'resume' : 'pause';
      return html`<tr data-queue="${q.name}"><td>${q.name}${q.paused ? ' (paused)' : ''}</td><td>${q.counts.waiting}</td><td>${q.counts.delayed}</td>
<td>${q.counts.active}</td><td>${q.counts.failed}</td><td><a href="/admin/dead-letters?queue=${q.name}">${q.counts.dead}</a></td>
<td class="oldest">${age(q.oldestWaitingAgeSeconds)}</td><td class="finished">${finished ?? 'n/a'}</td><td class="failure-rate">${rate}</td>
<td>${
        canOperate(req)
          ? html`<form class="inline" method="post" action="/admin/queues/${q.name}/${action}">${csrfField(req)}<button>${action}</button></form>`
          : ''
      } <a href="/admin/board/queue/${q.name}">board</a></td></tr>`;
    });
    send(
      req,
      res,
      'Overview',
      html`<p class="muted">Engine ${engine.kind}. Last hour: jobs finished (completed + failed for good) and the share that failed; retried attempts are not counted.</p>
<table id="queues"><thead><tr><th>Queue</th><th>Waiting</th><th>Delayed</th><th>Active</th><th>Failed</th><th>Dead</th><th>Oldest waiting</th><th>Finished (1 h)</th><th>Failure rate (1 h)</th><th></th></tr></thead>
<tbody>${rows}</tbody></table>${healthSection(health)}`,
    );
  });
}

function queueActions(router: Router, deps: PageDeps) {
  const { engine } = deps;
  for (const action of ['pause', 'resume'] as const) {
    router.post(`/queues/:name/${action}`, requireRole('operator'), async (req, res) => {
      const queue = queueParam(req);
      if (action === 'pause') await engine.pauseQueue(queue);
      else await engine.resumeQueue(queue);
      deps.logger.info({ queue, by: userOf(req).user }, `queue ${action}d from the dashboard`);
      back(res, '/admin', `queue ${queue} ${action}d`);
    });
  }
}

function deadLetterPages(router: Router, deps: PageDeps) {
  const { engine } = deps;
  router.get('/dead-letters', async (req, res) => {
    const only = typeof req.query.queue === 'string' && (queueNames as string[]).includes(req.query.queue) ? [req.query.queue] : queueNames;
    const letters = await engine.listDeadLetters(only, 200);
    const rows = letters.map(
      (
        d,
      ) => html`<tr data-id="${d.id}"><td><a href="/admin/jobs?id=${encodeURIComponent(d.id)}">${d.id}</a></td><td>${d.name}</td><td>${d.queue}</td>
<td>${d.deadAt}</td><td>${d.reason}</td><td>${d.error.message}</td><td><details><summary>data</summary><pre>${jsonText(d.data)}</pre></details></td>
<td>${
        canOperate(req)
          ? html`<form class="inline" method="post" action="/admin/dead-letters/${encodeURIComponent(d.id)}/replay">${csrfField(req)}<button>Replay</button></form>`
          : ''
      }</td></tr>`,
    );
    send(
      req,
      res,
      'Dead letters',
      letters.length
        ? html`<table id="dead-letters"><thead><tr><th>Id</th><th>Kind</th><th>Queue</th><th>Died</th><th>Reason</th><th>Error</th><th>Data</th><th></th></tr></thead><tbody>${rows}</tbody></table>`
        : html`<p class="muted">No dead letters.</p>`,
    );
  });

  router.post('/dead-letters/:id/replay', requireRole('operator'), async (req, res) => {
    const id = String(req.params.id);
    const job = await engine.replayDeadLetter(id, queueNames);
    if (!job) throw new ApiError(404, 'not_found', `no dead letter "${id}"`);
    deps.logger.info({ jobId: id, by: userOf(req).user }, 'dead letter replayed from the dashboard');
    back(res, '/admin/dead-letters', `replayed ${id}`);
  });
}

function jobLookupPage(router: Router, deps: PageDeps) {
  const { engine, reads } = deps;
  router.get('/jobs', async (req, res) => {
    const found = await searchResults(req, { ...deps.search, jobTable });
    if (found) return send(req, res, 'Job lookup', found.body, found.status);
    const q = (k: string) => (typeof req.query[k] === 'string' ? (req.query[k] as string).trim().slice(0, 500) : '');
    const id = q('id');
    const kind = q('kind');
    const key = q('key');
    let result: SafeHtml = html``;
    if (id) {
      const job = await engine.getJob(id);
      result = job ? jobDetail(job) : html`<p class="error">No job with id ${id}.</p>`;
    } else if (kind && key) {
      const job = await reads.byIdempotencyKey(kind, key);
      result = job ? jobDetail(job) : html`<p class="error">No ${kind} job with idempotency key ${key}.</p>`;
    } else if (kind) {
      result = html`<h2>Recent ${kind} jobs</h2>${jobTable(await reads.byKind(kind, 50))}`;
    } else if (key) {
      result = html`<p class="error">An idempotency key belongs to a job kind: choose the kind too.</p>`;
    }
    send(
      req,
      res,
      'Job lookup',
      html`<form method="get" action="/admin/jobs"><label>Job id <input name="id" value="${id}" size="40"></label>
<label>Kind <select name="kind"><option value="">(any)</option>${jobNames.map((n) => html`<option${n === kind ? html` selected` : ''}>${n}</option>`)}</select></label>
<label>Idempotency key <input name="key" value="${key}" size="40"></label><button type="submit">Look up</button></form>
<h2>Search</h2>${searchForm({ kind: '', queue: '', state: '', since: '', until: '', data: '' })}${result}`,
    );
  });
}

function schedulePages(router: Router, deps: PageDeps) {
  router.get('/schedules', async (req, res) => {
    if (!deps.schedules) {
      send(req, res, 'Schedules', html`<p class="muted">The scheduler module is not wired into the dashboard (no ScheduleSource).</p>`);
      return;
    }
    const admin = userOf(req).role === 'admin';
    const rows = (await deps.schedules.list()).map(
      (
        s,
      ) => html`<tr data-schedule="${s.name}"><td>${s.name}${s.paused ? ' (paused)' : ''}</td><td>${s.kind}</td><td>${s.cron} ${s.timezone}</td>
<td>${s.nextRuns.slice(0, 3).join(', ')}</td><td>${s.lastRun ? `${s.lastRun.at} ${s.lastRun.state ?? ''} ${s.lastRun.error ?? ''}` : '–'}</td>
<td>${
        admin
          ? html`<form class="inline" method="post" action="/admin/schedules/${encodeURIComponent(s.name)}/${s.paused ? 'resume' : 'pause'}">${csrfField(req)}<button>${s.paused ? 'resume' : 'pause'}</button></form>`
          : ''
      }</td></tr>`,
    );
    send(
      req,
      res,
      'Schedules',
      html`<table id="schedules"><thead><tr><th>Name</th><th>Kind</th><th>Cron</th><th>Next runs</th><th>Last run</th><th></th></tr></thead><tbody>${rows}</tbody></table>`,
    );
  });

  for (const action of ['pause', 'resume'] as const) {
    router.post(`/schedules/:name/${action}`, requireRole('admin'), async (req, res) => {
      if (!deps.schedules) throw new ApiError(404, 'not_found', 'no scheduler module');
      const name = String(req.params.name);
      await (action === 'pause' ? deps.schedules.pause(name) : deps.schedules.resume(name));
      back(res, '/admin/schedules', `schedule ${name} ${action}d`);
    });
  }
}

function emailPages(router: Router, deps: PageDeps) {
  router.get('/email', async (req, res) => {
    if (!deps.email) {
      send(req, res, 'Email', html`<p class="muted">The email module is not wired into the dashboard (no EmailSource).</p>`);
      return;
    }
    const names = await deps.email.listTemplates();
    send(
      req,
      res,
      'Email',
      html`<h2>Templates</h2><ul>${names.map((n) => html`<li><a href="/admin/email/templates/${encodeURIComponent(n)}">${n}</a></li>`)}</ul>
${deps.showCaughtMail && deps.email.listCaughtMail ? html`<p><a href="/admin/email/caught">Caught mail (development)</a></p>` : ''}`,
    );
  });

  router.get('/email/templates/:name', async (req, res) => {
    const email = deps.email;
    const name = String(req.params.name);
    if (!email || !(await email.listTemplates()).includes(name)) throw new ApiError(404, 'not_found', `no template "${name}"`);
    const given = typeof req.query.vars === 'string' ? req.query.vars : '';
    let vars: Record<string, unknown> | undefined;
    let problem = '';
    if (given) {
      try {
        const parsed = JSON.parse(given) as unknown;
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) vars = parsed as Record<string, unknown>;
        else problem = 'vars must be a JSON object';
      } catch (err) {
        problem = `vars is not valid JSON: ${(err as Error).message}`;
      }
    }
    const shown = given || jsonText((await email.sampleVars?.(name)) ?? {}, 20_000);
    let preview: SafeHtml = html``;
    if (!problem) {
      try {
        const p = await email.renderPreview(name, vars);
        preview = html`<h2>Subject</h2><p class="subject">${p.subject}</p><h2>HTML</h2>
<iframe class="preview" sandbox title="email preview" srcdoc="${p.html}"></iframe>${p.text ? html`<h2>Text</h2><pre>${p.text}</pre>` : ''}`;
      } catch (err) {
        problem = `render failed: ${(err as Error).message}`;
      }
    }
    send(
      req,
      res,
      `Template ${name}`,
      html`<form method="get"><label>Variables (JSON)<br><textarea name="vars" rows="10" cols="80">${shown}</textarea></label><button>Render</button></form>
${problem ? html`<p class="error">${problem}</p>` : preview}`,
    );
  });

  router.get('/email/caught', async (req, res) => {
    const list = deps.email?.listCaughtMail;
    if (!deps.showCaughtMail || !list) throw new ApiError(404, 'not_found', 'the mail catcher runs in development only');
    const mails = await list.call(deps.email);
    send(
      req,
      res,
      'Caught mail',
      mails.length
        ? html`${mails.map(
            (m) => html`<section class="mail"><h2>${m.subject}</h2><p class="muted">to ${m.to} at ${m.at}</p>
${m.html ? html`<iframe class="preview" sandbox title="caught mail" srcdoc="${m.html}"></iframe>` : html`<pre>${m.text ?? ''}</pre>`}</section>`,
          )}`
        : html`<p class="muted">No mail caught yet.</p>`,
    );
  });
}

export const formBody = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 50 });
