// Template compilation and rendering. Every template's MJML is compiled to HTML ONCE (strict validation,
// mj-include ignored), then its placeholders are parsed once; a send only fills values in, escaped.
// Values never pass through MJML or any template compiler, so a var cannot inject markup.
import { readFile } from 'node:fs/promises';
import mjml2html from 'mjml';
import { z } from 'zod';
import { isTemplateName, type TemplateName, templateDefinitions, templateDir, templateNames } from '../../templates/index.ts';
import { compilePlaceholders, escapeHtml, type Filler, noEscape, oneLine } from './placeholders.ts';

export interface CompiledTemplate {
  name: TemplateName;
  subject: Filler;
  html: Filler;
  text: Filler;
  sample: Record<string, unknown>;
}
export type CompiledTemplates = ReadonlyMap<TemplateName, CompiledTemplate>;

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/** The MJML options every template is compiled with: strict (any error fails), includes off. */
export const mjmlOptions = { validationLevel: 'strict', ignoreIncludes: true, keepComments: false, minify: false } as const;

/** MJML → HTML, strict. Throws with every validation message when the MJML is invalid. */
export async function compileMjml(source: string, label: string): Promise<string> {
  try {
    const out = await mjml2html(source, { ...mjmlOptions });
    if (out.errors.length > 0) throw new Error(out.errors.map((e) => e.formattedMessage).join('; '));
    return out.html;
  } catch (err) {
    throw new Error(`template ${label}: MJML is invalid: ${(err as Error).message}`, { cause: err });
  }
}

async function readPart(name: TemplateName, file: string): Promise<string> {
  return readFile(new URL(file, templateDir(name)), 'utf8');
}

/** Compile one template and check it against its own sample vars (a broken template fails here, at boot). */
export async function compileTemplate(name: TemplateName): Promise<CompiledTemplate> {
  const [mjml, subjectSrc, textSrc, sampleSrc] = await Promise.all(
    ['template.mjml', 'subject.txt', 'text.txt', 'sample.json'].map((f) => readPart(name, f)),
  );
  const html = await compileMjml(mjml as string, `${name}/template.mjml`);
  const t: CompiledTemplate = {
    name,
    subject: compilePlaceholders((subjectSrc as string).trim(), oneLine),
    html: compilePlaceholders(html, escapeHtml),
    text: compilePlaceholders(textSrc as string, noEscape),
    sample: JSON.parse(sampleSrc as string) as Record<string, unknown>,
  };
  const sample = templateDefinitions[name].vars.safeParse(t.sample);
  if (!sample.success) throw new Error(`template ${name}: sample.json does not match its vars: ${z.prettifyError(sample.error)}`);
  try {
    renderWith(t, sample.data, true);
  } catch (err) {
    throw new Error(`template ${name}: ${(err as Error).message} (with sample.json)`, { cause: err });
  }
  return t;
}

export async function compileTemplates(): Promise<CompiledTemplates> {
  const all = await Promise.all(templateNames.map(compileTemplate));
  return new Map(all.map((t) => [t.name, t]));
}

let compiled: Promise<CompiledTemplates> | undefined;
/** Compiled once per process (the worker calls this at boot; the web process on first preview). */
export function getCompiledTemplates(): Promise<CompiledTemplates> {
  compiled ??= compileTemplates().catch((err) => {
    compiled = undefined;
    throw err;
  });
  return compiled;
}

function renderWith(t: CompiledTemplate, vars: unknown, strict = false): RenderedEmail {
  const def = templateDefinitions[t.name] as { view?: (v: unknown) => Record<string, unknown> };
  const values = { ...(vars as Record<string, unknown>), ...def.view?.(vars) };
  return {
    subject: t.subject(values, { strict }).trim(),
    html: t.html(values, { strict }),
    text: t.text(values, { strict }),
  };
}

/** Render valid vars (already checked by the template's schema) into subject, HTML and text. */
export function renderEmail(templates: CompiledTemplates, name: TemplateName, vars: unknown): RenderedEmail {
  const t = templates.get(name);
  if (!t) throw new Error(`no compiled template "${name}"`);
  return renderWith(t, vars);
}

// ── plain functions for the API and the dashboard ──

export interface TemplateSummary {
  name: TemplateName;
  /** JSON Schema of the vars */
  vars: unknown;
  sample: Record<string, unknown>;
  /** subject rendered with the sample vars */
  subject: string;
}

export async function listTemplates(): Promise<TemplateSummary[]> {
  const templates = await getCompiledTemplates();
  return templateNames.map((name) => {
    const t = templates.get(name) as CompiledTemplate;
    return {
      name,
      vars: z.toJSONSchema(templateDefinitions[name].vars, { io: 'input', unrepresentable: 'any' }),
      sample: t.sample,
      subject: renderWith(t, t.sample).subject,
    };
  });
}

export type PreviewResult =
  | { ok: true; name: TemplateName; vars: unknown; rendered: RenderedEmail }
  | { ok: false; notFound?: true; issues: z.core.$ZodIssue[] };

/** Render a template with its sample vars, or with `vars` (validated by the template's schema). */
export async function renderPreview(name: string, vars?: unknown): Promise<PreviewResult> {
  if (!isTemplateName(name)) return { ok: false, notFound: true, issues: [] };
  const templates = await getCompiledTemplates();
  const t = templates.get(name) as CompiledTemplate;
  const parsed = templateDefinitions[name].vars.safeParse(vars ?? t.sample);
  if (!parsed.success) return { ok: false, issues: parsed.error.issues };
  return { ok: true, name, vars: parsed.data, rendered: renderWith(t, parsed.data) };
}
