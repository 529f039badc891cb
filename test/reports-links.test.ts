// Signed download links: the signature and expiry checks (with an injected clock), and the web route
// serving a stored file: valid → 200 with the bytes, tampered or expired → 403 with the standard error body.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDownloadLink, verifyDownloadLink } from '../workers/reports/download-links.ts';
import { LocalReportStorage } from '../workers/reports/storage.ts';
import { describeEngines } from './engines.ts';
import { setup } from './helpers.ts';
import { tempDir } from './reports-db.ts';

const SECRET = 'a'.repeat(32);
const OLD_SECRET = 'b'.repeat(40);

function parts(url: string) {
  const u = new URL(url);
  return {
    id: (u.pathname.match(/\/reports\/([^/]+)\/download$/) as RegExpMatchArray)[1] as string,
    expires: u.searchParams.get('expires'),
    sig: u.searchParams.get('sig'),
    path: u.pathname + u.search,
  };
}

describe('download link signing', () => {
  const t0 = Date.UTC(2026, 0, 1);
  const link = createDownloadLink({
    baseUrl: 'https://conveyor.example.com/base/',
    id: 'abc_DEF-123',
    secrets: [SECRET],
    ttlSeconds: 3600,
    now: t0,
  });

  it('builds an absolute URL under the public base with the expiry', () => {
    expect(link.url).toMatch(/^https:\/\/conveyor\.example\.com\/base\/v1\/reports\/abc_DEF-123\/download\?expires=\d+&sig=[\w-]{43}$/);
    expect(link.expiresAt).toBe('2026-01-01T01:00:00.000Z');
  });

  it('accepts the link until it expires, then reports it expired', () => {
    const p = parts(link.url);
    expect(verifyDownloadLink({ ...p, secrets: [SECRET] }, t0)).toEqual({ ok: true });
    expect(verifyDownloadLink({ ...p, secrets: [SECRET] }, t0 + 3_599_000)).toEqual({ ok: true });
    expect(verifyDownloadLink({ ...p, secrets: [SECRET] }, t0 + 3_600_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('rejects any change to id, expiry or signature, and other secrets', () => {
    const p = parts(link.url);
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    expect(verifyDownloadLink({ ...p, id: 'abc_DEF-124', secrets: [SECRET] }, t0).ok).toBe(false);
    expect(verifyDownloadLink({ ...p, expires: String(Number(p.expires) + 86_400), secrets: [SECRET] }, t0)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    expect(verifyDownloadLink({ ...p, sig: flip(p.sig as string), secrets: [SECRET] }, t0)).toEqual({ ok: false, reason: 'invalid' });
    expect(verifyDownloadLink({ ...p, sig: undefined, secrets: [SECRET] }, t0)).toEqual({ ok: false, reason: 'invalid' });
    expect(verifyDownloadLink({ ...p, expires: ['1', '2'], secrets: [SECRET] }, t0)).toEqual({ ok: false, reason: 'invalid' });
    expect(verifyDownloadLink({ ...p, secrets: [OLD_SECRET] }, t0)).toEqual({ ok: false, reason: 'invalid' });
    // a tampered AND expired link says invalid, not expired
    expect(verifyDownloadLink({ ...p, sig: flip(p.sig as string), secrets: [SECRET] }, t0 + 10 * 3_600_000).ok).toBe(false);
  });

  it('verifies with every configured secret (rotation) and signs with the first', () => {
    const old = createDownloadLink({ baseUrl: 'http://x', id: 'r1', secrets: [OLD_SECRET], ttlSeconds: 60, now: t0 });
    expect(verifyDownloadLink({ ...parts(old.url), secrets: [SECRET, OLD_SECRET] }, t0)).toEqual({ ok: true });
    const fresh = createDownloadLink({ baseUrl: 'http://x', id: 'r1', secrets: [SECRET, OLD_SECRET], ttlSeconds: 60, now: t0 });
    expect(verifyDownloadLink({ ...parts(fresh.url), secrets: [SECRET] }, t0)).toEqual({ ok: true });
  });
});

describeEngines('GET /v1/reports/:id/download', (engine) => {
  async function platform() {
    const dir = await tempDir();
    const t = await setup({ engine, REPORTS_DIR: dir, REPORTS_SIGNING_SECRET: SECRET });
    const storage = new LocalReportStorage(dir);
    const id = randomBytes(16).toString('base64url');
    const body = 'id,name\r\n1,"a, b"\r\n2,"say ""hi"""\r\n';
    const up = await storage.create(id);
    up.stream.end(body);
    await up.commit({
      id,
      report: 'demo.orders',
      format: 'csv',
      filename: 'orders-2026-01-01.csv',
      contentType: 'text/csv; charset=utf-8; header=present',
      rows: 2,
      bytes: Buffer.byteLength(body),
      createdAt: new Date().toISOString(),
    });
    const link = (opts: { now?: number; ttl?: number; reportId?: string } = {}) =>
      parts(
        createDownloadLink({ baseUrl: t.baseUrl, id: opts.reportId ?? id, secrets: [SECRET], ttlSeconds: opts.ttl ?? 600, now: opts.now })
          .url,
      ).path;
    return { t, id, body, link, storage };
  }

  it('a valid link serves the file without an API key', async () => {
    const { t, body, link } = await platform();
    const res = await t.api('GET', link(), undefined, { key: null });
    expect(res.status).toBe(200);
    expect(res.body).toBe(body);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="?orders-2026-01-01\.csv"?$/);
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(res.headers.get('cache-control')).toBe('private, no-store');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('a tampered signature or id → 403 with the standard error body', async () => {
    const { t, link } = await platform();
    const good = link();
    const tamperedSig = good.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`);
    for (const path of [
      tamperedSig,
      good.replace(/expires=\d+/, (m) => `${m}9`),
      good.replace('/reports/', '/reports/x'),
      good.replace(/&sig=.*/, ''),
    ]) {
      const res = await t.api('GET', path, undefined, { key: null });
      expect(res.status, path).toBe(403);
      expect(res.body.error).toMatchObject({ code: 'forbidden', message: 'this download link is not valid', details: [{ path: 'sig' }] });
      expect(res.body.error.requestId).toEqual(expect.any(String));
    }
  });

  it('an expired link → 403 link_expired (minted with an earlier clock)', async () => {
    const { t, link } = await platform();
    const res = await t.api('GET', link({ now: Date.now() - 3_600_000, ttl: 600 }), undefined, { key: null });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'link_expired', details: [{ path: 'expires', message: 'in the past' }] });
  });

  it('a valid link to a removed file → 404', async () => {
    const { t, id, link, storage } = await platform();
    await storage.remove(id);
    const res = await t.api('GET', link(), undefined, { key: null });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('POST /v1/reports/:id/link mints a fresh link (API key with report scope needed)', async () => {
    const { t, id, body, storage } = await platform();
    const res = await t.api('POST', `/v1/reports/${id}/link`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ reportId: id, filename: 'orders-2026-01-01.csv', rows: 2, bytes: Buffer.byteLength(body) });
    const url = new URL(res.body.download);
    const file = await t.api('GET', url.pathname + url.search, undefined, { key: null });
    expect(file.status).toBe(200);
    expect(file.body).toBe(body);
    expect((await t.api('POST', `/v1/reports/${id}/link`, undefined, { key: null })).status).toBe(401);
    const narrow = await t.api('POST', `/v1/reports/${id}/link`, undefined, { key: t.keys.noopOnly });
    expect(narrow.status).toBe(403);
    await storage.remove(id);
    expect((await t.api('POST', `/v1/reports/${id}/link`)).status).toBe(404);
  });

  it('other /v1/reports paths still need an API key', async () => {
    const { t, id } = await platform();
    const res = await t.api('GET', `/v1/reports/${id}`, undefined, { key: null });
    expect(res.status).toBe(401);
  });
});
