// Report routes (workers/reports/README.md):
//   GET  /v1/reports/:id/download?expires=…&sig=…  a finished report file. The signed, expiring link is the
//        credential (it is emailed to people without API keys), so the route is `public`: no API key. A
//        tampered or expired link → 403; a valid link to a file already removed → 404.
//   POST /v1/reports/:id/link  (a key with `report.generate` in scope) a fresh signed link for a file that
//        still exists, for when the emailed one has expired.
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { ApiError } from '../../core/http/api-error.ts';
import { err, ok } from '../../core/http/openapi.ts';
import { mayUseKind, principalOf } from '../../core/http/principal.ts';
import { publicBaseUrl } from '../../core/http/public-url.ts';
import { byParam, type RouteTable, route } from '../../core/http/route.ts';
import type { ReportsConfig } from './config.ts';
import { createDownloadLink, REPORT_ID, signingSecrets, verifyDownloadLink } from './download-links.ts';
import { reportsKinds } from './kinds.ts';
import { LocalReportStorage, type ReportStorage, reportsDir } from './storage.ts';

const NOT_CONFIGURED = 'report downloads are not configured on this server (REPORTS_SIGNING_SECRET)';
const reportId = z.strictObject({ id: z.string() });

async function download(req: Request, res: Response, storage: ReportStorage, secrets: string[], now: number) {
  const id = String(req.params.id);
  const check = verifyDownloadLink({ id, expires: req.query.expires, sig: req.query.sig, secrets }, now);
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
}

export function createReportRoutes(options: { storage?: ReportStorage; now?: () => number } = {}): RouteTable<ReportsConfig> {
  return ({ config }) => {
    const storage = options.storage ?? new LocalReportStorage(reportsDir(config));
    let secrets: string[] | null | undefined; // read on first use, not when the app is built
    const now = options.now ?? Date.now;
    return [
      route({
        method: 'get',
        path: '/v1/reports/:id/download',
        auth: 'public',
        summary: 'Download a finished report: the signed, expiring link is the credential (no API key)',
        params: reportId,
        query: z.object({ expires: z.coerce.number().int(), sig: z.string() }),
        responses: {
          '200': { description: 'the file (text/csv or application/x-ndjson)' },
          '403': err('tampered or expired link'),
          '404': err('no such report'),
          '503': err(NOT_CONFIGURED),
        },
        handle: async (req, res) => {
          secrets ??= signingSecrets(config);
          if (!secrets) throw new ApiError(503, 'unavailable', NOT_CONFIGURED);
          await download(req, res, storage, secrets, now());
        },
      }),
      route({
        method: 'post',
        path: '/v1/reports/:id/link',
        auth: 'key',
        summary: 'A fresh signed link for a finished report',
        params: reportId,
        audit: { action: 'report.link', target: byParam('report') },
        responses: { '200': ok('the link'), '403': err('the key may not use reports'), '404': err('no such report') },
        handle: async (req, res) => {
          const principal = principalOf(req);
          if (!mayUseKind(principal, 'report.generate', reportsKinds['report.generate'].queue)) {
            throw new ApiError(403, 'forbidden', `key "${principal.name}" may not use reports`);
          }
          const linkSecrets = signingSecrets(config);
          if (!linkSecrets) throw new ApiError(503, 'unavailable', NOT_CONFIGURED);
          const id = String(req.params.id);
          const meta = REPORT_ID.test(id) ? await storage.meta(id) : null;
          if (!meta) throw new ApiError(404, 'not_found', `no report file "${id}"`);
          const link = createDownloadLink({
            baseUrl: publicBaseUrl(config),
            id,
            secrets: linkSecrets,
            ttlSeconds: config.REPORTS_LINK_TTL_SECONDS,
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
        },
      }),
    ];
  };
}

export const reportRoutes = createReportRoutes();
