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

/** Links in emails: http(s) only, so a `javascript:` URL can never reach an href. */
export const linkUrl = () => z.url({ protocol: /^https?$/, error: 'expects an http(s) URL' }).max(2048);

const utcDate = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
const utcTime = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false, timeZone: 'UTC' });

/** `2026-11-21T23:44:00Z` → `21 Nov 2026, 23:44 UTC` (formatters built once: creating one per call is slow) */
export function formatUtc(iso: string): string {
  const d = new Date(iso);
  return `${utcDate.format(d)}, ${utcTime.format(d)} UTC`;
}
