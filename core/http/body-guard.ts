// What no JSON body may hold, whatever the route: deeper nesting than MAX_JSON_DEPTH (a 10,000-level
// document would overflow a recursive validator), NUL or a lone UTF-16 surrogate in a string or key
// (PostgreSQL's jsonb refuses both, and neither survives a UTF-8 round trip), or a `__proto__` key (never
// data; a merge would set the prototype). The walk is iterative, so the check itself cannot overflow.
import type { NextFunction, Request, Response } from 'express';
import { joinPath } from '../validation.ts';
import { ApiError } from './api-error.ts';

export const MAX_JSON_DEPTH = 64;

/** a NUL, or a surrogate without its pair (String.prototype.isWellFormed) */
export const badString = (s: string) => s.includes('\0') || !s.isWellFormed();

/** The first problem in `value`, as an error detail (`path` like `data.list[1]`), or null. */
export function jsonProblem(value: unknown): { path: string; message: string } | null {
  const stack: { v: unknown; path: PropertyKey[] }[] = [{ v: value, path: [] }];
  while (stack.length > 0) {
    const { v, path } = stack.pop() as { v: unknown; path: PropertyKey[] };
    if (typeof v === 'string') {
      if (badString(v)) return { path: joinPath('', path) || '(body)', message: 'contains NUL or an unpaired UTF-16 surrogate' };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (path.length >= MAX_JSON_DEPTH) return { path: joinPath('', path), message: `nested deeper than ${MAX_JSON_DEPTH} levels` };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: [...path, i] });
      continue;
    }
    for (const k of Object.keys(v)) {
      if (k === '__proto__') return { path: joinPath('', path) || '(body)', message: 'a "__proto__" key is not allowed' };
      if (badString(k)) return { path: joinPath('', path) || '(body)', message: 'a key contains NUL or an unpaired UTF-16 surrogate' };
      stack.push({ v: (v as Record<string, unknown>)[k], path: [...path, k] });
    }
  }
  return null;
}

/** After a JSON body parser: 400 `invalid_request` naming the field when the body holds what none may. */
export function guardJsonBody(req: Request, _res: Response, next: NextFunction) {
  const problem = req.body === undefined ? null : jsonProblem(req.body);
  if (problem) throw new ApiError(400, 'invalid_request', 'the body holds what no request may', [problem]);
  next();
}
