// Dashboard sign-in: users from DASHBOARD_USERS, a session in a signed cookie, CSRF checks, roles.
//
// Session: cookie `cv_dash` = { u: user, sid, exp, pv }, signed by cookie-parser (HMAC-SHA256 with
// DASHBOARD_SESSION_SECRET), HttpOnly, SameSite=Lax, Secure behind https, path /admin. The role is read
// from the config on every request, and `pv` (a fingerprint of the password hash) ends sessions when a
// password changes. Signing out records the sid in the backend's ledger (`dash:signed-out`, kept for the
// session TTL), so a copied cookie stops working on every replica, on both engines.
// CSRF: double-submit token bound to the session (HMAC of sid) in a readable `XSRF-TOKEN` cookie. Our
// forms post it as `_csrf`; Bull Board's axios client echoes the cookie as `X-XSRF-TOKEN` by itself.
// Every unsafe request must carry it, and an Origin (or Referer) from another site is refused too.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { DashboardUserConfig } from '../core/config/index.ts';
import { ApiError } from '../core/http/api-error.ts';
import { decoyHash, verifyPassword } from './password.ts';

export type Role = DashboardUserConfig['role'];
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
export const atLeast = (role: Role, need: Role) => RANK[role] >= RANK[need];

export const SESSION_COOKIE = 'cv_dash';
export const CSRF_COOKIE = 'XSRF-TOKEN';
export const LOGIN_CSRF_COOKIE = 'cv_login_csrf';
export const COOKIE_PATH = '/admin';

export interface DashboardUser {
  user: string;
  role: Role;
  /** CSRF token for this session */
  csrf: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    dashboardUser?: DashboardUser;
  }
}

interface SessionCookie {
  u: string;
  sid: string;
  exp: number;
  pv: string;
}

const fingerprint = (hash: string) => createHash('sha256').update(hash).digest('base64url').slice(0, 16);

function safeEqual(a: string, b: string) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Sessions ended by sign-out, by sid, until they would have expired anyway (the backend's ledger). */
export interface SignedOut {
  commit(sid: string, record: { at: number }): Promise<void>;
  get(sid: string): Promise<{ at: number } | null>;
}

export class DashboardAuth {
  private readonly users: Map<string, DashboardUserConfig>;

  constructor(
    users: DashboardUserConfig[],
    private readonly secret: string,
    private readonly ttlSeconds: number,
    private readonly signedOut: SignedOut,
  ) {
    this.users = new Map(users.map((u) => [u.user, u]));
  }

  get userCount() {
    return this.users.size;
  }

  csrfFor(sid: string) {
    return createHmac('sha256', this.secret).update(`csrf:${sid}`).digest('base64url');
  }

  /** The user if the password matches; always spends one scrypt either way. */
  async check(user: string, password: string): Promise<DashboardUserConfig | null> {
    const found = this.users.get(user);
    const ok = await verifyPassword(password, found?.hash ?? (await decoyHash));
    return found && ok ? found : null;
  }

  startSession(req: Request, res: Response, user: DashboardUserConfig) {
    const sid = randomBytes(18).toString('base64url');
    const cookie: SessionCookie = { u: user.user, sid, exp: Date.now() + this.ttlSeconds * 1000, pv: fingerprint(user.hash) };
    const base = { path: COOKIE_PATH, secure: req.secure, maxAge: this.ttlSeconds * 1000 };
    res.cookie(SESSION_COOKIE, cookie, { ...base, httpOnly: true, sameSite: 'lax', signed: true });
    res.cookie(CSRF_COOKIE, this.csrfFor(sid), { ...base, httpOnly: false, sameSite: 'strict' });
    res.clearCookie(LOGIN_CSRF_COOKIE, { path: COOKIE_PATH });
  }

  /** Clears the cookies and records the sid as signed out, so a copy of the cookie stops working too. */
  async endSession(req: Request, res: Response) {
    const sid = this.sessionOf(req)?.sid;
    if (sid) await this.signedOut.commit(sid, { at: Date.now() });
    res.clearCookie(SESSION_COOKIE, { path: COOKIE_PATH });
    res.clearCookie(CSRF_COOKIE, { path: COOKIE_PATH });
  }

  private sessionOf(req: Request): { user: DashboardUserConfig; sid: string } | null {
    const raw = (req.signedCookies as Record<string, unknown> | undefined)?.[SESSION_COOKIE] as Partial<SessionCookie> | undefined;
    if (raw && typeof raw === 'object' && typeof raw.u === 'string' && typeof raw.sid === 'string' && typeof raw.exp === 'number') {
      const user = this.users.get(raw.u);
      if (user && raw.exp > Date.now() && raw.pv === fingerprint(user.hash)) return { user, sid: raw.sid };
    }
    return null;
  }

  /** Sets req.dashboardUser when the signed session cookie is valid, unexpired, not signed out, and its user still exists. */
  readSession = async (req: Request, _res: Response, next: NextFunction) => {
    const s = this.sessionOf(req);
    if (s && !(await this.signedOut.get(s.sid))) {
      req.dashboardUser = { user: s.user.user, role: s.user.role, csrf: this.csrfFor(s.sid) };
    }
    next();
  };
}

export const isUnsafe = (method: string) => !['GET', 'HEAD', 'OPTIONS'].includes(method);

/**
 * Refuse an unsafe request whose Origin (or, lacking it, Referer) names another site. The site is the Host
 * header; X-Forwarded-Host only when TRUST_FORWARDED_HOST says the proxy in front sets it (and strips a
 * client's): otherwise any client could name its own Origin there.
 */
export function sameOrigin(req: Request, trustForwardedHost = false): boolean {
  const from = req.get('origin') ?? req.get('referer');
  if (!from) return true; // no browser would send a cross-site POST without Origin; the token check still applies
  let origin: string;
  try {
    origin = new URL(from).host;
  } catch {
    return false;
  }
  const forwarded = trustForwardedHost ? req.get('x-forwarded-host') : undefined;
  const host = (forwarded ?? req.get('host') ?? '').split(',')[0]?.trim();
  return origin === host;
}

/** The CSRF token a request presents: header (Bull Board, fetch) or form field. */
export function presentedToken(req: Request): string | undefined {
  const header = req.get('x-xsrf-token') ?? req.get('x-csrf-token');
  if (header) return header;
  const body = req.body as Record<string, unknown> | undefined;
  return typeof body?._csrf === 'string' ? body._csrf : undefined;
}

export function tokenMatches(given: string | undefined, expected: string) {
  return given !== undefined && safeEqual(given, expected);
}

/** For unsafe methods: same origin and the session's CSRF token, else 403. */
export const requireCsrf = (trustForwardedHost: boolean) => (req: Request, _res: Response, next: NextFunction) => {
  if (!isUnsafe(req.method)) return next();
  const user = req.dashboardUser;
  if (!sameOrigin(req, trustForwardedHost))
    throw new ApiError(403, 'csrf', 'cross-site request refused', [{ path: 'Origin', message: 'expects this site' }]);
  if (!user || !tokenMatches(presentedToken(req), user.csrf)) {
    throw new ApiError(403, 'csrf', 'missing or wrong CSRF token', [
      { path: '_csrf', message: 'send the XSRF-TOKEN cookie value as X-XSRF-TOKEN or the _csrf form field' },
    ]);
  }
  next();
};

export function requireRole(need: Role) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const user = req.dashboardUser;
    if (!user) throw new ApiError(401, 'unauthorized', 'sign in at /admin/login');
    if (!atLeast(user.role, need)) throw new ApiError(403, 'forbidden', `role ${user.role} may not do this; needs ${need}`);
    next();
  };
}
