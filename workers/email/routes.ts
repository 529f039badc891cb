// Email routes: mail caught by the development catcher, and template previews with sample vars.
//   GET  /v1/mail                      caught messages, newest first (?limit=1..200)
//   GET  /v1/mail/:id                  one caught message: headers, HTML, text
//   GET  /v1/templates                 templates with their vars (JSON Schema) and sample vars
//   GET  /v1/templates/:name/preview   rendered with sample vars (?format=html for the HTML alone)
//   POST /v1/templates/:name/preview   rendered with `{ "vars": … }` (validated like email.send)
// Scopes: caught mail may hold secrets (reset links), so /mail needs `admin` or `mail:read`;
// templates also open to keys that may enqueue email.send.
import type { Request, Response } from 'express';
import { z } from 'zod';
import { ApiError } from '../../core/http/api-error.ts';
import { err, ok } from '../../core/http/openapi.ts';
import { mayUseKind, principalOf } from '../../core/http/principal.ts';
import { type AnyRoute, type RouteInput, type RouteTable, route } from '../../core/http/route.ts';
import { issuesToDetails } from '../../core/validation.ts';
import { caughtMailStore, getCaughtMail, listCaughtMail } from './caught-mail.ts';
import type { EmailConfig } from './config.ts';
import { emailKinds } from './kinds.ts';
import { listTemplates, renderPreview } from './templates.ts';

export const MAIL_READ_SCOPE = 'mail:read';

function requireMailRead(req: Request) {
  const p = principalOf(req);
  if (!p.scopes.has('admin') && !p.scopes.has(MAIL_READ_SCOPE)) {
    throw new ApiError(403, 'forbidden', `key "${p.name}" may not read caught mail (needs scope admin or ${MAIL_READ_SCOPE})`);
  }
}

function requireTemplates(req: Request) {
  const p = principalOf(req);
  if (!p.scopes.has(MAIL_READ_SCOPE) && !mayUseKind(p, 'email.send', emailKinds['email.send'].queue)) {
    throw new ApiError(403, 'forbidden', `key "${p.name}" may not preview templates (needs admin, ${MAIL_READ_SCOPE} or email.send)`);
  }
}

const previewQuery = z.strictObject({ format: z.enum(['json', 'html', 'text']).default('json') });
const templateName = z.strictObject({ name: z.string() });
const forbidden = err('the key lacks the scope');

/** The preview is our own template with trusted or escaped values; still served locked down. */
const PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; font-src https:";

async function preview(req: Request, res: Response, input: RouteInput<z.output<typeof previewQuery>, unknown>, vars: unknown) {
  requireTemplates(req);
  const { format } = input.query();
  const name = String(req.params.name);
  const r = await renderPreview(name, vars);
  if (!r.ok && r.notFound)
    throw new ApiError(404, 'not_found', `no template "${name}"`, [{ path: 'name', message: 'see GET /v1/templates' }]);
  if (!r.ok) throw new ApiError(400, 'invalid_request', `vars do not match template ${name}`, issuesToDetails(r.issues, 'vars'));
  if (format === 'html') res.type('html').set('Content-Security-Policy', PREVIEW_CSP).send(r.rendered.html);
  else if (format === 'text') res.type('text/plain').send(r.rendered.text);
  else res.json({ name: r.name, vars: r.vars, ...r.rendered });
}

function previewRoutes(): AnyRoute[] {
  const rendering = { description: 'the rendering (JSON, or HTML / text with ?format=)' };
  return [
    route({
      method: 'get',
      path: '/v1/templates/:name/preview',
      auth: 'key',
      summary: 'Render a template with its sample vars (`?format=json|html|text`)',
      params: templateName,
      query: previewQuery,
      responses: { '200': rendering, '400': err('bad query'), '403': forbidden, '404': err('no such template') },
      handle: (req, res, input) => preview(req, res, input, undefined),
    }),
    route({
      method: 'post',
      path: '/v1/templates/:name/preview',
      auth: 'key',
      summary: 'Render a template with the vars in the body',
      params: templateName,
      query: previewQuery,
      json: true,
      body: z.strictObject({ vars: z.unknown() }),
      audit: { exempt: 'renders a preview; changes nothing' },
      responses: { '200': rendering, '400': err('vars invalid'), '403': forbidden, '404': err('no such template') },
      handle: (req, res, input) => preview(req, res, input, input.body().vars),
    }),
  ];
}

export const emailRoutes: RouteTable<EmailConfig> = ({ config, backend }) => {
  const store = caughtMailStore(backend);
  return [
    route({
      method: 'get',
      path: '/v1/mail',
      auth: 'key',
      summary: `Mail caught by the development SMTP catcher (\`admin\` or \`${MAIL_READ_SCOPE}\`)`,
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
      responses: { '200': ok('caught messages'), '400': err('bad query'), '403': forbidden },
      handle: async (req, res, input) => {
        requireMailRead(req);
        const q = input.query();
        res.json({ catcher: !config.SMTP_URL, mail: await listCaughtMail(store, q.limit) });
      },
    }),
    route({
      method: 'get',
      path: '/v1/mail/:id',
      auth: 'key',
      summary: 'One caught message: HTML, text, headers',
      params: z.strictObject({ id: z.string() }),
      responses: { '200': ok('the message'), '403': forbidden, '404': err('no such message') },
      handle: async (req, res) => {
        requireMailRead(req);
        const mail = await getCaughtMail(store, String(req.params.id));
        if (!mail) throw new ApiError(404, 'not_found', `no caught mail "${req.params.id}"`);
        res.json(mail);
      },
    }),
    route({
      method: 'get',
      path: '/v1/templates',
      auth: 'key',
      summary: 'Email templates and their variables',
      responses: { '200': ok('templates'), '403': forbidden },
      handle: async (req, res) => {
        requireTemplates(req);
        res.json({ templates: await listTemplates() });
      },
    }),
    ...previewRoutes(),
  ];
};
