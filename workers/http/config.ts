// The http domain's settings: the kinds file (docs/http-kinds.md). The outbound allowlist and signing
// secret are the kernel's (core/config/outbound.ts): completion webhooks use them too.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { defineSection, int, type SectionValues } from '../../core/config/index.ts';
import type { Allowlist } from '../../core/outbound/index.ts';
import { checkDeclaration, type KindDeclaration } from './declaration.ts';

/** `{ "kinds": [ … ] }`: each entry checked like a PUT /v1/kinds body (the allowlist in the check below). */
const kindsFile = z.string().transform((path, ctx) => {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `cannot read ${path} as JSON: ${(err as Error).message}` });
    return z.NEVER;
  }
  const kinds = (raw as { kinds?: unknown })?.kinds;
  if (!Array.isArray(kinds) || Object.keys(raw as object).some((k) => k !== 'kinds')) {
    ctx.addIssue({ code: 'custom', message: `${path}: expects { "kinds": [ … ] }` });
    return z.NEVER;
  }
  const out: KindDeclaration[] = [];
  const seen = new Set<string>();
  kinds.forEach((entry, i) => {
    const label = `${path}: kinds[${i}]${typeof entry?.name === 'string' ? ` (${entry.name})` : ''}`;
    const checked = checkDeclaration(entry, { checkUrl: () => undefined }, `kinds[${i}]`);
    if (!checked.ok) {
      for (const d of checked.details) ctx.addIssue({ code: 'custom', message: `${label} ${d.path}: ${d.message}` });
      return;
    }
    if (seen.has(checked.decl.name)) ctx.addIssue({ code: 'custom', message: `${label} name: declared twice` });
    seen.add(checked.decl.name);
    out.push(checked.decl);
  });
  return out;
});

const shape = {
  KINDS_FILE: kindsFile.optional(),
  KINDS_RELOAD_MS: int(100, 60_000).default(1_000),
};
type Checked = SectionValues<typeof shape> & { NODE_ENV: string; HTTP_TARGET_ALLOWLIST: Allowlist; SIGNING_SECRET?: string };

export const httpSection = defineSection<typeof shape, Checked>('http', shape, [
  {
    variable: 'KINDS_FILE',
    reads: ['KINDS_FILE', 'HTTP_TARGET_ALLOWLIST'],
    problem: (c) => {
      const bad = (c.KINDS_FILE ?? []).flatMap((k, i) => {
        const why = c.HTTP_TARGET_ALLOWLIST.checkUrl(k.url);
        return why ? [`kinds[${i}] (${k.name}) url: ${why}`] : [];
      });
      return bad.length ? bad.join('; ') : undefined;
    },
  },
  {
    variable: 'SIGNING_SECRET',
    reads: ['NODE_ENV', 'KINDS_FILE', 'SIGNING_SECRET'],
    problem: (c) =>
      c.NODE_ENV === 'production' && (c.KINDS_FILE?.length ?? 0) > 0 && !c.SIGNING_SECRET
        ? 'is required when NODE_ENV=production and KINDS_FILE declares kinds'
        : undefined,
  },
]);
