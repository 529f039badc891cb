// The shell around every dashboard page (no scripts: the pages work as plain HTML forms).
import type { DashboardUser } from './auth.ts';
import { html, SafeHtml } from './html.ts';

/** Our pages run no script at all; previews live in sandboxed srcdoc frames. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data: https:; form-action 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
header a{color:#cfe0ff;text-decoration:none}header a:hover{text-decoration:underline}
header .who{margin-left:auto;color:#aab}
main{padding:1rem;max-width:1200px}
table{border-collapse:collapse;background:#fff;width:100%;margin:.5rem 0}
th,td{border:1px solid #dde;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef0f4}
pre{background:#fff;border:1px solid #dde;padding:.5rem;overflow:auto;max-height:20rem;white-space:pre-wrap;word-break:break-word}
form.inline{display:inline}button{cursor:pointer}
.flash{background:#e7f6e7;border:1px solid #9c9;padding:.5rem;margin:.5rem 0}
.error{background:#fbeaea;border:1px solid #d99;padding:.5rem;margin:.5rem 0}
.muted{color:#667}iframe.preview{width:100%;height:28rem;border:1px solid #dde;background:#fff}
label{display:block;margin:.4rem 0}input,select,textarea{font:inherit}
`;

export function layout(title: string, user: DashboardUser | undefined, body: SafeHtml, flash?: string): string {
  const nav = user
    ? html`<a href="/admin">Overview</a><a href="/admin/board">Queues (Bull Board)</a><a href="/admin/dead-letters">Dead letters</a>
<a href="/admin/jobs">Job lookup</a><a href="/admin/groups">Groups</a><a href="/admin/schedules">Schedules</a><a href="/admin/email">Email</a><a href="/admin/webhooks">Webhooks</a><a href="/admin/kinds">HTTP kinds</a>${user.role === 'admin' ? html`<a href="/admin/audit">Audit log</a>` : ''}
<span class="who">${user.user} (${user.role})</span>
<form class="inline" method="post" action="/admin/logout"><input type="hidden" name="_csrf" value="${user.csrf}"><button type="submit" id="logout">Log out</button></form>`
    : html``;
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${title} · Conveyor</title><style>${new SafeHtml(STYLE)}</style></head>
<body><header><strong>Conveyor</strong>${nav}</header><main><h1>${title}</h1>${flash ? html`<p class="flash" role="status">${flash}</p>` : ''}${body}</main></body></html>`
    .value;
}
