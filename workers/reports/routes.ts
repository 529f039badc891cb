// GET /v1/reports/:id/download?expires=…&sig=… — serves a finished report file.
// The signed, expiring link is the credential (it is emailed to people without API keys), so this route
// is mounted before API-key authentication (see publicRouteModules and workers/reports/README.md).
// A tampered or expired link → 403; a valid link to a file already removed → 404.
import { pipeline } from 'node:stream/promises';
import type { Router } from 'express';
import { ApiError } from '../../core/http/api-error.ts';
import { publicBaseUrl } from '../../core/http/public-url.ts';
import type { AppDeps } from '../../producers/app.ts';
import { mayUseKind, principalOf } from '../../producers/auth.ts';
import { createDownloadLink, REPORT_ID, signingSecrets, verifyDownloadLink } from './download-links.ts';
import { LocalReportStorage, type ReportStorage, reportsDir } from './storage.ts';

export function createReportRoutes(options: { storage?: ReportStorage; now?: () => number } = {}) {
  return (api: Router, deps: AppDeps) => {
    const storage = options.storage ?? new LocalReportStorage(reportsDir(deps.config));
    let secrets: string[] | null | undefined; // read on first use, not when the app is built
    const now = options.now ?? Date.now;

    api.get('/reports/:id/download', async (req, res) => {
      secrets ??= signingSecrets(deps.config);
      if (!secrets) {
        throw new ApiError(503, 'unavailable', 'report downloads are not configured on this server (REPORTS_SIGNING_SECRET)');
      }
      const id = String(req.params.id);
      const check = verifyDownloadLink({ id, expires: req.query.expires, sig: req.query.sig, secrets }, now());
      if (!check.ok) {
        throw check.reason === 'expired'
          ? new ApiError(403, 'link_expired', 'this download link has expired; generate the report again or ask for a new link', [
              { path: 'expires', message: 'in the past' },
            ])
          : new ApiError(403, 'forbidden', 'this download link is not valid', [{ path: 'sig', message: 'does not match the link' }]);
      }
      const file = await storage.open(id);
      if (!file) throw new ApiError(404, 'not_found', 'this report file no longer exists (files are kept REPORTS_RETENTION_SECONDS)');
      res.attachment(file.meta.filename);
      res.set({
        'Content-Type': file.meta.contentType,
        'Content-Length': String(file.meta.bytes),
        'Cache-Control': 'private, no-store',
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
      });
      try {
        await pipeline(file.stream, res);
      } catch (err) {
        file.stream.destroy();
        if (!res.headersSent) throw err;
        res.destroy(); // the client went away mid-download
      }
    });
  };
}

export const reportRoutes = createReportRoutes();

/**
 * POST /v1/reports/:id/link (API key with `report.generate` in scope): a fresh signed link for a file that
 * still exists, for when the emailed one has expired.
 */
export function createReportLinkRoutes(options: { storage?: ReportStorage; now?: () => number } = {}) {
  return (api: Router, deps: AppDeps) => {
    const storage = options.storage ?? new LocalReportStorage(reportsDir(deps.config));
    const now = options.now ?? Date.now;
    api.post('/reports/:id/link', async (req, res) => {
      const principal = principalOf(req);
      if (!mayUseKind(principal, 'report.generate')) {
        throw new ApiError(403, 'forbidden', `key "${principal.name}" may not use reports`);
      }
      const secrets = signingSecrets(deps.config);
      if (!secrets) throw new ApiError(503, 'unavailable', 'report downloads are not configured on this server (REPORTS_SIGNING_SECRET)');
      const id = String(req.params.id);
      const meta = REPORT_ID.test(id) ? await storage.meta(id) : null;
      if (!meta) throw new ApiError(404, 'not_found', `no report file "${id}"`);
      const link = createDownloadLink({
        baseUrl: publicBaseUrl(deps.config),
        id,
        secrets,
        ttlSeconds: deps.config.REPORTS_LINK_TTL_SECONDS,
        now: now(),
      });
      res.json({
        reportId: id,
        filename: meta.filename,
        rows: meta.rows,
        bytes: meta.bytes,
        download: link.url,
        expiresAt: link.expiresAt,
      });
    });
  };
}

export const reportLinkRoutes = createReportLinkRoutes();
