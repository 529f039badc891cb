// What each template folder declares in its vars.ts: the zod schema of its variables and, optionally,
// a `view` that derives display values (formatted dates, counts) from valid vars. The schema is part of
// the `email.send` payload schema, so a bad payload is a 400 at enqueue, never a failure in the worker.
import { z } from 'zod';

export interface TemplateDefinition<S extends z.ZodType = z.ZodType> {
  vars: S;
  /** display values added to the vars before filling (must not throw for valid vars) */
  view?: (vars: z.output<S>) => Record<string, unknown>;
}

export function defineTemplate<S extends z.ZodType>(def: TemplateDefinition<S>): TemplateDefinition<S> {
  return def;
}

const httpUrl = z.url({ protocol: /^https?$/ });
const address = z.email();
/** what a URI may hold unescaped (RFC 3986): no space, quote, angle bracket, backslash or control character */
const URI_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;
/** the header fields a mailto link may set (RFC 6068 §2); `body` alone may hold line breaks */
const MAILTO_FIELDS = new Set(['subject', 'body', 'cc', 'bcc']);

const decoded = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
};
const addresses = (list: string) => list.split(',').every((a) => address.safeParse(a).success);

/**
 * A `mailto:` URI (RFC 6068) that can set no header but subject, body, cc and bcc: recipients are
 * addresses, nothing is unescaped that a URI may not hold, and no line break decodes anywhere but the body
 * (a CR/LF in a subject or an address is a header injection in some mail clients).
 */
export function isMailtoUri(s: string): boolean {
  if (!/^mailto:/i.test(s) || !URI_CHARS.test(s) || s.includes('#')) return false;
  const [to = '', query, ...more] = s.slice('mailto:'.length).split('?');
  if (more.length > 0) return false;
  const recipients = decoded(to);
  if (recipients === null || !addresses(recipients)) return false;
  if (query === undefined) return true;
  return query.split('&').every((field) => {
    const eq = field.indexOf('=');
    if (eq <= 0) return false;
    const name = decoded(field.slice(0, eq))?.toLowerCase() ?? '';
    const value = decoded(field.slice(eq + 1));
    if (value === null || !MAILTO_FIELDS.has(name)) return false;
    if (name === 'cc' || name === 'bcc') return addresses(value);
    return name === 'body' || !/[\r\n]/.test(value);
  });
}

/**
 * Links in emails: http(s) URLs and mailto: URIs (isMailtoUri), so a `javascript:` or `data:` URL can never
 * reach an href. Values are HTML-escaped when filled (workers/email/placeholders.ts).
 */
export const linkUrl = () =>
  z
    .string()
    .max(2048)
    .refine((s) => httpUrl.safeParse(s).success || isMailtoUri(s), {
      error: 'expects an http(s) URL or a mailto: URI (addresses, subject/body/cc/bcc, no line break in a header)',
    })
    .meta({ format: 'uri' });

const utcDate = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
const utcTime = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false, timeZone: 'UTC' });

/** `2026-11-21T23:44:00Z` → `21 Nov 2026, 23:44 UTC` (formatters built once: creating one per call is slow) */
export function formatUtc(iso: string): string {
  const d = new Date(iso);
  return `${utcDate.format(d)}, ${utcTime.format(d)} UTC`;
}
