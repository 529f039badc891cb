// Who is calling: the API key that authenticated the request (producers/auth.ts sets it) and what its
// scopes allow. Helpers for every route table (producers/, scheduler/, the domains); each takes what it
// needs as parameters (the kind's queue comes from the caller's catalog).
import type { Request } from 'express';
import { ApiError } from './api-error.ts';

export interface Principal {
  name: string;
  scopes: Set<string>;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
    requestId: string;
  }
}

export function principalOf(req: Request): Principal {
  if (!req.principal) throw new ApiError(401, 'unauthorized', 'missing credentials');
  return req.principal;
}

export const isAdmin = (p: Principal) => p.scopes.has('admin');

/** May `p` enqueue (or read jobs of) job kind `kind`, which runs on `queue`? */
export function mayUseKind(p: Principal, kind: string, queue: string | undefined): boolean {
  const s = p.scopes;
  return s.has('admin') || s.has('*') || s.has(kind) || (queue !== undefined && s.has(`queue:${queue}`));
}

export function mayManageQueue(p: Principal, queue: string): boolean {
  return p.scopes.has('admin') || p.scopes.has(`queue:${queue}`);
}
