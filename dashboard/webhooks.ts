// The dashboard's pages for the open platform: **Webhooks** (subscriptions, recent deliveries, failing and
// dead ones with Replay through the dead-letter replay) and **HTTP kinds** (each declared kind's target and
// the outcomes of its latest jobs). docs/webhooks.md, docs/http-kinds.md. Read-only but for Replay, which
// posts to the existing /admin/dead-letters/:id/replay form (operators).
import type { Request, Response, Router } from 'express';
import type { Backend } from '../core/backend.ts';
import type { DeadLetter, JobView } from '../core/engine.ts';
import type { KindDefinition } from '../core/kinds.ts';
import { DELIVER_KIND, type DeliveryPayload, type Subscription, WEBHOOKS_QUEUE, webhookEvents } from '../core/outbound/events.ts';
import { kindRegistry } from '../workers/catalog.ts';
import type { DashboardUser } from './auth.ts';
import { html, jsonText, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';

const RECENT = 100;
const PER_KIND = 20;

const userOf = (req: Request) => req.dashboardUser as DashboardUser;
const flashOf = (req: Request) => (typeof req.query.msg === 'string' ? req.query.msg.slice(0, 300) : undefined);

function send(req: Request, res: Response, title: string, body: SafeHtml) {
  res.type('html').send(layout(title, userOf(req), body, flashOf(req)));
}

const jobLink = (id: string) => html`<a href="/admin/jobs?id=${encodeURIComponent(id)}">${id}</a>`;

/** A delivery's payload, or what can be read of a foreign one. */
function payloadOf(data: unknown): Partial<DeliveryPayload> & { subject?: string } {
  const p = (data ?? {}) as Partial<DeliveryPayload>;
  const subject = (p.data as { id?: unknown } | undefined)?.id;
  return { ...p, subject: typeof subject === 'string' ? subject : undefined };
}

function subscriptionTable(subs: Subscription[]): SafeHtml {
  if (subs.length === 0) return html`<p class="muted">No subscriptions (POST /v1/webhooks).</p>`;
  const list = (v: string[], all: string) => (v.length ? v.join(', ') : html`<span class="muted">${all}</span>`);
  return html`<table id="webhook-subscriptions"><thead><tr><th>Id</th><th>URL</th><th>Events</th><th>Kinds</th><th>Queues</th><th>Description</th><th>Created</th></tr></thead><tbody>
${subs.map(
  (s) => html`<tr><td>${s.name}</td><td>${s.url}</td><td>${list(s.events, 'every event')}</td>
<td>${list(s.kinds, s.queues.length ? '–' : 'every kind')}</td><td>${list(s.queues, s.kinds.length ? '–' : 'every queue')}</td>
<td>${s.description ?? ''}</td><td>${s.createdAt}</td></tr>`,
)}</tbody></table>`;
}

function deliveryTable(jobs: JobView[], id: string): SafeHtml {
  if (jobs.length === 0) return html`<p class="muted">No deliveries held by the queue.</p>`;
  return html`<table id="${id}"><thead><tr><th>Delivery</th><th>Event</th><th>About job</th><th>Receiver</th><th>URL</th><th>State</th><th>Attempts</th><th>Last error</th><th>Finished</th></tr></thead><tbody>
${jobs.map((j) => {
  const p = payloadOf(j.data);
  return html`<tr data-id="${j.id}" data-state="${j.state}"><td>${jobLink(j.id)}</td><td>${p.type ?? ''}</td><td>${p.subject ? jobLink(p.subject) : ''}</td>
<td>${p.receiver ?? ''}</td><td>${p.url ?? ''}</td><td>${j.state}</td><td>${j.attempts.made}/${j.attempts.max}</td>
<td>${j.error?.message ?? ''}</td><td>${j.finishedAt ?? ''}</td></tr>`;
})}</tbody></table>`;
}

function deadTable(req: Request, letters: DeadLetter[]): SafeHtml {
  if (letters.length === 0) return html`<p class="muted">No dead deliveries.</p>`;
  const canReplay = userOf(req).role !== 'viewer';
  return html`<table id="webhook-dead"><thead><tr><th>Delivery</th><th>Event</th><th>About job</th><th>URL</th><th>Died</th><th>Reason</th><th>Error</th><th></th></tr></thead><tbody>
${letters.map((d) => {
  const p = payloadOf(d.data);
  const replay = canReplay
    ? html`<form class="inline" method="post" action="/admin/dead-letters/${encodeURIComponent(d.id)}/replay"><input type="hidden" name="_csrf" value="${userOf(req).csrf}"><button>Replay</button></form>`
    : '';
  return html`<tr data-id="${d.id}"><td>${jobLink(d.id)}</td><td>${p.type ?? ''}</td><td>${p.subject ? jobLink(p.subject) : ''}</td><td>${p.url ?? ''}</td>
<td>${d.deadAt}</td><td>${d.reason}</td><td>${d.error.message}</td><td>${replay}</td></tr>`;
})}</tbody></table>`;
}

function webhooksPage(router: Router, backend: Backend) {
  router.get('/webhooks', async (req, res) => {
    const [subs, recent, dead] = await Promise.all([
      webhookEvents(backend).store.list(),
      backend.jobReads.byKind(DELIVER_KIND, WEBHOOKS_QUEUE, RECENT),
      backend.engine.listDeadLetters([WEBHOOKS_QUEUE], RECENT),
    ]);
    subs.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    // failing: retrying after an error (waiting or delayed again, an error recorded)
    const failing = recent.filter((j) => j.state !== 'completed' && j.state !== 'dead' && j.error);
    send(
      req,
      res,
      'Webhooks',
      html`<p class="muted">Completion webhooks (docs/webhooks.md): each delivery is a job of the <code>${WEBHOOKS_QUEUE}</code> queue,
retried with backoff; dead ones can be replayed (same webhook-id).</p>
<h2>Subscriptions</h2>${subscriptionTable(subs)}
<h2>Failing, being retried (${failing.length})</h2>${deliveryTable(failing, 'webhook-failing')}
<h2>Dead (${dead.length})</h2>${deadTable(req, dead)}
<h2>Recent deliveries</h2>${deliveryTable(recent, 'webhook-recent')}`,
    );
  });
}

/** Counts of the latest jobs' states, e.g. `completed 8 · dead 1`. */
function outcomeSummary(jobs: JobView[]): string {
  const counts = new Map<string, number>();
  for (const j of jobs) counts.set(j.state, (counts.get(j.state) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${s} ${n}`).join(' · ');
}

function kindRow(name: string, def: KindDefinition, jobs: JobView[]): SafeHtml {
  const http = def.http as NonNullable<KindDefinition['http']>;
  const last = jobs[0];
  return html`<tr data-kind="${name}"><td>${name}<br><span class="muted">${def.description}</span></td><td>${http.source}</td><td>${http.url}</td>
<td>${def.defaults.attempts}</td><td>${def.defaults.timeoutMs} ms</td><td>${http.concurrency ?? 'queue’s'}</td>
<td>${jobs.length ? outcomeSummary(jobs) : html`<span class="muted">no jobs held</span>`}</td>
<td>${last ? html`${jobLink(last.id)} ${last.state}${last.error ? html`<br><span class="muted">${last.error.message}</span>` : ''}` : ''}</td>
<td><details><summary>schema</summary><pre>${jsonText(http.schema, 2_000)}</pre></details></td></tr>`;
}

function kindsPage(router: Router, backend: Backend) {
  router.get('/kinds', async (req, res) => {
    const declared = Object.entries(kindRegistry.table).filter(([, d]) => d.http);
    declared.sort(([a], [b]) => a.localeCompare(b));
    const jobs = await Promise.all(declared.map(([name, d]) => backend.jobReads.byKind(name, d.queue, PER_KIND)));
    send(
      req,
      res,
      'HTTP kinds',
      declared.length
        ? html`<p class="muted">Kinds declared without code (KINDS_FILE, PUT /v1/kinds/:name; docs/http-kinds.md): their jobs are POSTed to the target.
Outcomes: the states of the latest ${PER_KIND} jobs the queue still holds.</p>
<table id="http-kinds"><thead><tr><th>Kind</th><th>Source</th><th>Target</th><th>Attempts</th><th>Timeout</th><th>Concurrency</th><th>Recent outcomes</th><th>Latest job</th><th>Payload</th></tr></thead>
<tbody>${declared.map(([name, def], i) => kindRow(name, def, jobs[i] ?? []))}</tbody></table>`
        : html`<p class="muted">No HTTP-target kinds are declared (KINDS_FILE, PUT /v1/kinds/:name).</p>`,
    );
  });
}

/** GET /admin/webhooks and GET /admin/kinds. */
export function webhookPages(router: Router, backend: Backend) {
  webhooksPage(router, backend);
  kindsPage(router, backend);
}
