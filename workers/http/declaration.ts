// An HTTP-target kind as declared (KINDS_FILE entry or PUT /v1/kinds/:name body) and its compiled form: a
// KindDefinition like a catalog kind's, whose payload schema is a zod schema wrapping ajv (JSON Schema
// 2020-12), so enqueue validation, error shape and field paths are the catalog's own (core/enqueue.ts).
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { z } from 'zod';
import type { KindDefinition } from '../../core/kinds.ts';
import { type ErrorDetail, issuesToDetails } from '../../core/validation.ts';

/** The queue HTTP kinds run on (kinds.ts); queues are infrastructure, kinds come and go. */
export const HTTP_QUEUE = 'http';

const NAME = /^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$/;
export const kindName = z
  .string()
  .max(100, { error: 'at most 100 characters' })
  .regex(NAME, { error: 'expects a dotted lower-case name, e.g. billing.invoice-pdf' });

/** Everything a declaration says but its name. */
export const kindBody = z.strictObject({
  url: z.string().max(2048, { error: 'at most 2048 characters' }),
  description: z.string().max(500).optional(),
  /** JSON Schema 2020-12 of `data`; default: any object */
  payload: z.record(z.string(), z.unknown(), { error: 'expects a JSON Schema object' }).default({ type: 'object' }),
  queue: z.literal(HTTP_QUEUE, { error: `HTTP kinds run on the "${HTTP_QUEUE}" queue` }).default(HTTP_QUEUE),
  /** requests in flight at once per worker process */
  concurrency: z.int().min(1).max(1000).optional(),
  timeoutMs: z.int().min(100).max(900_000).default(30_000),
  attempts: z.int().min(1).max(100).default(5),
  priority: z.int().min(1).max(10).default(5),
  signingSecretEnv: z
    .string()
    .regex(/^SIGNING_SECRET_[A-Z0-9_]+$/, { error: 'expects a variable named SIGNING_SECRET_<NAME>' })
    .optional(),
});
export const kindDeclaration = kindBody.extend({ name: kindName });

export type KindDeclaration = z.output<typeof kindDeclaration>;
/** As stored (RecordStore) and shown by GET /v1/kinds. */
export interface StoredKind extends KindDeclaration {
  updatedAt: string;
}

const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });

/** `/items/0/a~1b` → ['items', 0, 'a/b'] */
function pathOf(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** ajv's errors as zod issues, with the paths and words the catalog's zod schemas use. */
function addIssues(errors: ErrorObject[], ctx: z.RefinementCtx) {
  for (const e of errors) {
    const path = pathOf(e.instancePath);
    if (e.keyword === 'required') {
      ctx.addIssue({ code: 'custom', path: [...path, (e.params as { missingProperty: string }).missingProperty], message: 'is required' });
    } else if (e.keyword === 'additionalProperties') {
      ctx.addIssue({
        code: 'custom',
        path,
        message: `Unrecognized key: "${(e.params as { additionalProperty: string }).additionalProperty}"`,
      });
    } else {
      ctx.addIssue({ code: 'custom', path, message: e.message ?? `fails ${e.keyword}` });
    }
  }
}

/** A zod schema that validates with the compiled JSON Schema; throws when the schema does not compile. */
export function payloadSchema(schema: Record<string, unknown>): z.ZodType {
  const validate = ajv.compile(schema);
  return z.unknown().superRefine((value, ctx) => {
    if (!validate(value)) addIssues(validate.errors ?? [], ctx);
  });
}

const compiled = new Map<string, KindDefinition>();

/**
 * The kind as the registry holds it. Same declaration text → the same object (the registry sees no change
 * when a poll reads what it already has). Throws (message) when the payload schema does not compile.
 */
export function compileKind(decl: KindDeclaration, source: 'file' | 'runtime'): KindDefinition {
  const key = `${source}\n${JSON.stringify(decl)}`;
  const hit = compiled.get(key);
  if (hit) return hit;
  const def: KindDefinition = {
    queue: decl.queue,
    description: decl.description ?? `POST ${decl.url}`,
    payload: payloadSchema(decl.payload),
    defaults: {
      priority: decl.priority,
      attempts: decl.attempts,
      backoff: { baseMs: 1000, capMs: 10 * 60_000, jitter: 'full' },
      timeoutMs: decl.timeoutMs,
    },
    http: { url: decl.url, signingSecretEnv: decl.signingSecretEnv, source, schema: decl.payload, concurrency: decl.concurrency },
  };
  if (compiled.size > 10_000) compiled.clear();
  compiled.set(key, def);
  return def;
}

export interface TargetCheck {
  /** why `url` may not be a target, or undefined (core/outbound Allowlist.checkUrl) */
  checkUrl(url: string): string | undefined;
}

/**
 * Validate one declaration: shape, payload schema compiles, target allowlisted. Details are rooted at
 * `prefix` (`kinds[2]` in a file, '' for a request body).
 */
export function checkDeclaration(
  raw: unknown,
  targets: TargetCheck,
  prefix = '',
): { ok: true; decl: KindDeclaration } | { ok: false; details: ErrorDetail[] } {
  const at = (p: string) => (prefix ? `${prefix}.${p}` : p);
  const parsed = kindDeclaration.safeParse(raw);
  if (!parsed.success) return { ok: false, details: issuesToDetails(parsed.error.issues, prefix) };
  const decl = parsed.data;
  const details: ErrorDetail[] = [];
  const why = targets.checkUrl(decl.url);
  if (why) details.push({ path: at('url'), message: why });
  try {
    ajv.compile(decl.payload);
  } catch (err) {
    details.push({ path: at('payload'), message: `not a valid JSON Schema (2020-12): ${(err as Error).message}` });
  }
  return details.length ? { ok: false, details } : { ok: true, decl };
}
