// Turn zod issues into the API's error details: `{ path: "jobs[3].data.to", message }`.
import type { z } from 'zod';

export interface ErrorDetail {
  path: string;
  message: string;
}

export function joinPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

export function issuesToDetails(issues: readonly z.core.$ZodIssue[], prefix = ''): ErrorDetail[] {
  return issues.map((i) => ({ path: joinPath(prefix, i.path), message: i.message }));
}

export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix = ''): string {
  return issuesToDetails(issues, prefix)
    .map((d) => `${d.path || '(root)'}: ${d.message}`)
    .join('; ');
}
