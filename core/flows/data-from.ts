// `dataFrom` (docs/flows.md, "Passing results on"): a flow job names fields of its own data that are filled,
// when it is released, from its parents' results: `{ "vars.url": "report.download" }` puts the `download`
// field of parent `report`'s result at `data.vars.url`. The payload is checked twice: at creation with those
// fields left out (everything else must already be valid), and at release, whole, before it is enqueued.
import { z } from 'zod';
import type { ErrorDetail } from '../validation.ts';
import type { ParentOutcome } from './parent-outcome.ts';

/** the most fields one job may take from its parents */
export const MAX_DATA_FROM = 50;

const SEGMENT = /^[A-Za-z0-9_-]{1,100}$/;
/** segments that would reach an object's prototype when set */
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);
const isPath = (p: string) => p.split('.').every((s) => SEGMENT.test(s) && !FORBIDDEN.has(s));

export const dataFromSchema = z
  .record(z.string().max(500), z.string().min(1).max(600))
  .superRefine((m, ctx) => {
    const targets = Object.keys(m);
    if (targets.length > MAX_DATA_FROM) ctx.addIssue({ code: 'custom', message: `at most ${MAX_DATA_FROM} fields` });
    for (const t of targets.filter((t) => !isPath(t))) {
      ctx.addIssue({ code: 'custom', path: [t], message: 'expects a dot path into data (letters, digits, _ and - per segment)' });
    }
  })
  .describe(
    'fields of data filled at release from parents’ results: { "<path in data>": "<parent key>.<path in its result>" }; the parent must be in dependsOn',
  );

export type DataFrom = z.infer<typeof dataFromSchema>;

interface Source {
  parent: string;
  path: string[];
}

/** `report.download` → parent `report`, path `download`: the longest key of `parents` the source starts with. */
export function sourceOf(source: string, parents: readonly string[]): Source | null {
  const parent = parents.filter((p) => source === p || source.startsWith(`${p}.`)).sort((a, b) => b.length - a.length)[0];
  if (parent === undefined) return null;
  const rest = source.slice(parent.length + 1);
  if (rest !== '' && !isPath(rest)) return null;
  return { parent, path: rest === '' ? [] : rest.split('.') };
}

/** Problems with a job's dataFrom at creation: each source must name a parent in dependsOn; paths under `at`. */
export function dataFromProblems(dataFrom: DataFrom, parents: readonly string[], at: string): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const [target, source] of Object.entries(dataFrom)) {
    if (!sourceOf(source, parents)) {
      details.push({
        path: `${at}.dataFrom.${target}`,
        message: `"${source}" must be <parent key>.<path in its result>, with the parent in dependsOn (${parents.join(', ') || 'none'})`,
      });
    }
  }
  return details;
}

/** Validation details the creation check lets through: those at a field dataFrom fills, or inside it. */
export function filledLater(dataFrom: DataFrom, dataAt: string) {
  const targets = Object.keys(dataFrom).map((t) => `${dataAt}.${t}`);
  return (d: ErrorDetail) => targets.some((t) => d.path === t || d.path.startsWith(`${t}.`) || d.path.startsWith(`${t}[`));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function read(value: unknown, path: string[]): unknown {
  let at = value;
  for (const s of path) {
    if (!isObject(at) || !Object.hasOwn(at, s)) return undefined;
    at = at[s];
  }
  return at;
}

function write(target: Record<string, unknown>, path: string[], value: unknown) {
  let at = target;
  for (const s of path.slice(0, -1)) {
    if (!isObject(at[s])) at[s] = {};
    at = at[s] as Record<string, unknown>;
  }
  at[path[path.length - 1] as string] = value;
}

/**
 * `data` with every dataFrom field filled from `parents` (the outcomes the child is released with), or the
 * reason it cannot be: a parent absent (skipped, or failed under `continue`) or a result without that field.
 */
export function fillData(
  data: unknown,
  dataFrom: DataFrom,
  parents: Readonly<Record<string, ParentOutcome>>,
): { ok: true; data: Record<string, unknown> } | { ok: false; message: string } {
  const out: Record<string, unknown> = isObject(data) ? structuredClone(data) : {};
  const keys = Object.keys(parents);
  for (const [target, source] of Object.entries(dataFrom)) {
    const s = sourceOf(source, keys);
    const outcome = s ? parents[s.parent] : undefined;
    if (!s || outcome?.state !== 'completed') {
      return { ok: false, message: `dataFrom ${target}: parent of "${source}" did not complete, so there is no result to take` };
    }
    const value = read(outcome.result, s.path);
    if (value === undefined)
      return { ok: false, message: `dataFrom ${target}: the result of "${s.parent}" has no ${s.path.join('.') || 'value'}` };
    write(out, target.split('.'), value);
  }
  return { ok: true, data: out };
}
