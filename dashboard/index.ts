// The dashboard at /admin: sign-in, Bull Board, our own ops pages. `createDashboard` returns the router
// to mount (createApp does: `app.use('/admin', deps.dashboard)`) and a close() for its board.

import { randomBytes } from 'node:crypto';
import cookieParser from 'cookie-parser';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { AuditLog } from '../core/audit.ts';
import type { Backend } from '../core/backend.ts';
import { BulkActions } from '../core/bulk-actions.ts';
import { devSecret } from '../core/dev-secrets.ts';
import { ApiError } from '../core/http/api-error.ts';
import { badString, guardJsonBody } from '../core/http/body-guard.ts';
import { requestError } from '../core/http/request-errors.ts';
import type { RateLimiter } from '../core/stores.ts';
import { queueNames } from '../workers/catalog.ts';
import type { Config, DashboardUserConfig } from '../workers/config.ts';
import { dashboardSources } from '../workers/domains.ts';
import { auditPage, recordDashboard } from './audit.ts';
import { COOKIE_PATH, DashboardAuth, LOGIN_CSRF_COOKIE, requireCsrf, sameOrigin, tokenMatches } from './auth.ts';
import { BOARD_PATH, createBoard } from './board.ts';
import { schedulerSource } from './feature-sources.ts';
import type { EmailSource, ScheduleSource } from './features.ts';
import { groupsPage } from './groups.ts';
import { html } from './html.ts';
import { layout, PAGE_CSP } from './layout.ts';
import { formBody, mountPages } from './pages.ts';
import { generatePassword, hashPassword } from './password.ts';
import { queueReads } from './queue-reads.ts';
import { webhookPages } from './webhooks.ts';

export const DASHBOARD_PATH = '/admin';

export interface DashboardDeps {
  config: Config;
  logger: Logger;
  /** the engine and the side stores (sign-in limits, Bull Board, job reads, schedules, caught mail) */
  backend: Backend;
  schedules?: ScheduleSource;
  email?: EmailSource;
}

export interface Dashboard {
  router: express.Router;
  close(): Promise<void>;
}

/** Development without DASHBOARD_USERS: one admin whose password is kept under DATA_DIR and logged at boot. */
async function devUsers(config: Config, logger: Logger): Promise<DashboardUserConfig[]> {
  if (config.NODE_ENV !== 'development') return [];
  const { value: password, file } = devSecret(config, 'dev-dashboard-password', generatePassword);
  logger.warn({ file }, `DASHBOARD_USERS is not set: development dashboard login is admin / ${password} at /admin`);
  return [{ user: 'admin', hash: await hashPassword(password), role: 'admin' }];
}

/** DASHBOARD_SESSION_SECRET, or in development one kept under DATA_DIR, or (tests) a fresh one per process. */
function sessionSecret(config: Config): string {
  if (config.DASHBOARD_SESSION_SECRET) return config.DASHBOARD_SESSION_SECRET;
  if (config.NODE_ENV !== 'development') return randomBytes(32).toString('base64url');
  return devSecret(config, 'dashboard-session-secret').value;
}

/**
 * A path segment with a NUL or an unpaired surrogate names no job, schedule or template (PostgreSQL refuses
 * NUL in a query): 400 before a page sends it to a store. A malformed escape is left to the router (400).
 */
function refuseBadPathSegments(req: Request, _res: Response, next: NextFunction) {
  for (const segment of req.path.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      continue;
    }
    if (badString(decoded)) {
      throw new ApiError(400, 'invalid_request', 'a path segment holds what no id or name may', [
        { path: '(path)', message: 'contains NUL or an unpaired UTF-16 surrogate' },
      ]);
    }
  }
  next();
}

/** API callers (Bull Board's client, scripts) get JSON errors; browsers navigating or posting forms get pages. */
const wantsJson = (req: Request) =>
  req.path.startsWith('/board/api') ||
  (req.method !== 'GET' && !req.is('application/x-www-form-urlencoded')) ||
  (req.accepts(['html', 'json']) === 'json' && !req.accepts('html'));

function loginPage(error: string | undefined, next: string, token: string) {
  return layout(
    'Sign in',
    undefined,
    html`${error ? html`<p class="error" role="alert">${error}</p>` : ''}<form method="post" action="/admin/login" id="login">
<input type="hidden" name="_csrf" value="${token}"><input type="hidden" name="next" value="${next}">
<label>User <input name="user" autocomplete="username" required maxlength="64" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
<button type="submit">Sign in</button></form>`,
  );
}

/** Only our own paths, never `//host` or a scheme. */
const safeNext = (v: unknown) => (typeof v === 'string' && /^\/admin(\/[\w\-./%?=&]*)?$/.test(v) && !v.includes('//') ? v : '/admin');

/** GET/POST /admin/login: CSRF-checked form, rate limited per IP and per user, then a session cookie. */
function mountSignIn(
  router: express.Router,
  o: { auth: DashboardAuth; log: Logger; perUser: RateLimiter; perIp: RateLimiter; trustForwardedHost: boolean },
) {
  const { auth, log, perUser, perIp } = o;
  router.get('/login', (req, res) => {
    const next = safeNext(req.query.next);
    if (req.dashboardUser) return res.redirect(303, next);
    const token = randomBytes(18).toString('base64url');
    res.cookie(LOGIN_CSRF_COOKIE, token, { path: COOKIE_PATH, httpOnly: true, sameSite: 'strict', secure: req.secure, maxAge: 3_600_000 });
    res.type('html').send(loginPage(undefined, next, token));
  });

  router.post('/login', formBody, async (req, res) => {
    // a body in another content type than the form's is not parsed: read as an empty form
    const body = (req.body ?? {}) as Record<string, unknown>;
    const next = safeNext(body.next);
    const cookieToken = (req.cookies as Record<string, string | undefined>)[LOGIN_CSRF_COOKIE];
    const retry = (status: number, error: string) => {
      const token = randomBytes(18).toString('base64url');
      res.cookie(LOGIN_CSRF_COOKIE, token, {
        path: COOKIE_PATH,
        httpOnly: true,
        sameSite: 'strict',
        secure: req.secure,
        maxAge: 3_600_000,
      });
      res
        .status(status)
        .type('html')
        .send(loginPage(error, next, token));
    };
    if (
      !sameOrigin(req, o.trustForwardedHost) ||
      !cookieToken ||
      !tokenMatches(typeof body._csrf === 'string' ? body._csrf : undefined, cookieToken)
    ) {
      return retry(403, 'The sign-in form expired. Try again.');
    }
    const user = typeof body.user === 'string' ? body.user.slice(0, 64) : '';
    const password = typeof body.password === 'string' ? body.password.slice(0, 1024) : '';
    const ip = req.ip ?? 'unknown';
    const limited = (await Promise.all([perIp.consume(ip), perUser.consume(`${ip}|${user.toLowerCase()}`)])).find((d) => !d.allowed);
    if (limited && !limited.allowed) {
      const wait = Math.max(1, Math.ceil(limited.retryAfterMs / 1000));
      res.set('Retry-After', String(wait));
      log.warn({ user, ip }, 'dashboard sign-in rate limited');
      return retry(429, `Too many sign-in attempts. Try again in ${wait} s.`);
    }
    const found = user && password ? await auth.check(user, password) : null;
    if (!found) {
      log.warn({ user, ip }, 'dashboard sign-in failed');
      return retry(401, 'Wrong user or password.');
    }
    await perUser.reset(`${ip}|${user.toLowerCase()}`).catch(() => {});
    auth.startSession(req, res, found);
    log.info({ user: found.user, role: found.role, ip }, 'dashboard sign-in');
    res.redirect(303, next);
  });
}

/** Errors as the dashboard answers them: JSON for API calls, a page otherwise; 500s are logged. */
function errorPage(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = requestError(err);
    if (!e) log.error({ err, path: req.path }, 'dashboard error');
    const status = e?.status ?? 500;
    const message = e?.message ?? 'internal error; see the server log';
    if (res.headersSent) return;
    if (wantsJson(req)) {
      const error = { code: e?.code ?? 'internal', message, details: e?.details ?? [], requestId: req.requestId };
      // Bull Board's UI toasts an error as its own are shaped: `error.key` (a translation key; one it lacks shows as
      // written) as the title, the top-level `message` below it
      const board = req.path.startsWith('/board/api/');
      res.status(status).json(board ? { error: { ...error, key: error.code }, message } : { error });
      return;
    }
    res
      .status(status)
      .type('html')
      .send(layout(`Error ${status}`, req.dashboardUser, html`<p class="error">${message}</p>`));
  };
}

export async function createDashboard(deps: DashboardDeps): Promise<Dashboard> {
  const { config, logger, backend } = deps;
  const log = logger.child({ component: 'dashboard' });
  const users = config.DASHBOARD_USERS ?? (await devUsers(config, log));
  if (users.length === 0) log.info('DASHBOARD_USERS is not set: nobody can sign in to /admin');
  const secret = sessionSecret(config);
  const signedOut = backend.ledger<{ at: number }>('dash:signed-out', { ttlSeconds: config.DASHBOARD_SESSION_TTL_SECONDS });
  const auth = new DashboardAuth(users, secret, config.DASHBOARD_SESSION_TTL_SECONDS, signedOut);

  // shared by every web process where the backend keeps limits in its store (capabilities.sharedRateLimits)
  const limiter = (name: string, points: number) => backend.limiter({ name: `dash-login-${name}`, points, durationSeconds: 900 });
  const perUser = limiter('user', config.DASHBOARD_LOGIN_ATTEMPTS);
  const perIp = limiter('ip', config.DASHBOARD_LOGIN_ATTEMPTS * 5);

  const bulk = new BulkActions(backend, log.child({ component: 'bulk-actions' }));
  const board = createBoard(
    backend.boardSource(),
    [
      { text: 'Overview', url: DASHBOARD_PATH },
      { text: 'Dead letters', url: `${DASHBOARD_PATH}/dead-letters` },
      { text: 'Job lookup', url: `${DASHBOARD_PATH}/jobs` },
    ],
    log,
    {
      queues: queueNames,
      getJob: (id) => backend.engine.getJob(id),
      bulk,
    },
  );

  const router = express.Router();
  router.use(cookieParser(secret));
  router.use((req, res, next) => {
    res.set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'same-origin' });
    if (req.path.startsWith('/board')) res.set('Content-Security-Policy', "frame-ancestors 'none'");
    else res.set('Content-Security-Policy', PAGE_CSP);
    next();
  });
  router.use(auth.readSession);
  const audit = new AuditLog(backend.audit, { retentionDays: config.AUDIT_RETENTION_DAYS, logger: log });
  router.use(recordDashboard(audit));

  mountSignIn(router, { auth, log, perUser, perIp, trustForwardedHost: config.TRUST_FORWARDED_HOST });

  // Everything below needs a session: HTML gets the sign-in page, API calls a 401, never data.
  router.use((req, res, next) => {
    if (req.dashboardUser) return next();
    if (wantsJson(req) || req.method !== 'GET') throw new ApiError(401, 'unauthorized', 'sign in at /admin/login');
    res.redirect(303, `${DASHBOARD_PATH}/login?next=${encodeURIComponent(req.originalUrl)}`);
  });
  router.use(formBody, guardJsonBody, requireCsrf(config.TRUST_FORWARDED_HOST), refuseBadPathSegments);

  router.post('/logout', async (req, res) => {
    log.info({ user: req.dashboardUser?.user }, 'dashboard sign-out');
    await auth.endSession(req, res);
    res.redirect(303, `${DASHBOARD_PATH}/login`);
  });

  router.use('/board', board.handler);
  auditPage(router, audit);
  webhookPages(router, backend);
  groupsPage(router, backend.groups);
  mountPages(router, {
    engine: backend.engine,
    reads: queueReads(backend.jobReads),
    throughput: backend.throughput,
    search: { search: (q) => backend.jobReads.search(q), bulk },
    schedules: deps.schedules ?? schedulerSource(config, backend),
    email: deps.email ?? (await dashboardSources({ config, backend })).email,
    showCaughtMail: config.NODE_ENV !== 'production',
    logger: log,
  });

  router.use((req) => {
    throw new ApiError(404, 'not_found', `no page ${req.method} ${req.originalUrl}`);
  });
  router.use(errorPage(log));

  return {
    router,
    async close() {
      await board.close();
    },
  };
}

export { BOARD_PATH };
