// Email routes: mail caught by the development catcher, and template previews with sample vars.
//   GET  /v1/mail                      caught messages, newest first (?limit=1..200)
//   GET  /v1/mail/:id                  one caught message: headers, HTML, text
//   GET  /v1/templates                 templates with their vars (JSON Schema) and sample vars
//   GET  /v1/templates/:name/preview   rendered with sample vars (?format=html for the HTML alone)
//   POST /v1/templates/:name/preview   rendered with `{ "vars": … }` (validated like email.send)
// Scopes: caught mail may hold secrets (reset links), so /mail needs `admin` or `mail:read`;
// templates also open to keys that may enqueue email.send.
import type { Request } from 'express';
import { z } from 'zod';
import { ApiError } from '../../core/http/api-error.ts';
import { issuesToDetails } from '../../core/validation.ts';
import { mayUseKind, principalOf } from '../../producers/auth.ts';
import type { RouteModule } from '../../producers/routes/index.ts';
import { caughtMailStore, getCaughtMail, listCaughtMail } from './caught-mail.ts';
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
  if (!p.scopes.has(MAIL_READ_SCOPE) && !mayUseKind(p, 'email.send')) {
    throw new ApiError(403, 'forbidden', `key "${p.name}" may not preview templates (needs admin, ${MAIL_READ_SCOPE} or email.send)`);
  }
}

const listQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) });
const previewQuery = z.strictObject({ format: z.enum(['json', 'html', 'text']).default('json') });
const previewBody = z.strictObject({ vars: z.unknown() });

function parse<S extends z.ZodType>(schema: S, input: unknown, where: string): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (!r.success) throw new ApiError(400, 'invalid_request', `bad ${where}`, issuesToDetails(r.error.issues));
  return r.data;
}

/** The preview is our own template with trusted or escaped values; still served locked down. */
const PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; font-src https:";

export const emailRoutes: RouteModule = (api, deps) => {
  const { config } = deps;
  const store = caughtMailStore(deps.backend);

  api.get('/mail', async (req, res) => {
    requireMailRead(req);
    const q = parse(listQuery, req.query, 'query');
    res.json({ catcher: !config.SMTP_URL, mail: await listCaughtMail(store, q.limit) });
  });

  api.get('/mail/:id', async (req, res) => {
    requireMailRead(req);
    const mail = await getCaughtMail(store, String(req.params.id));
    if (!mail) throw new ApiError(404, 'not_found', `no caught mail "${req.params.id}"`);
    res.json(mail);
  });

  api.get('/templates', async (req, res) => {
    requireTemplates(req);
    res.json({ templates: await listTemplates() });
  });

  const preview = async (req: Request, vars: unknown) => {
    requireTemplates(req);
    const q = parse(previewQuery, req.query, 'query');
    const name = String(req.params.name);
    const r = await renderPreview(name, vars);
    if (!r.ok && r.notFound)
      throw new ApiError(404, 'not_found', `no template "${name}"`, [{ path: 'name', message: 'see GET /v1/templates' }]);
    if (!r.ok) throw new ApiError(400, 'invalid_request', `vars do not match template ${name}`, issuesToDetails(r.issues, 'vars'));
    return { format: q.format, r };
  };
  const answer = (res: import('express').Response, out: Awaited<ReturnType<typeof preview>>) => {
    const { format, r } = out;
    if (!r.ok) return;
    if (format === 'html') res.type('html').set('Content-Security-Policy', PREVIEW_CSP).send(r.rendered.html);
    else if (format === 'text') res.type('text/plain').send(r.rendered.text);
    else res.json({ name: r.name, vars: r.vars, ...r.rendered });
  };

  api.get('/templates/:name/preview', async (req, res) => {
    answer(res, await preview(req, undefined));
  });
  api.post('/templates/:name/preview', async (req, res) => {
    if (!req.is(['application/json', 'application/*+json'])) {
      throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json', [
        { path: 'Content-Type', message: 'expects application/json' },
      ]);
    }
    const body = parse(previewBody, req.body, 'body');
    answer(res, await preview(req, body.vars));
  });
};
