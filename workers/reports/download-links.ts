// Signed, expiring download links for report files: `/v1/reports/<id>/download?expires=<unix s>&sig=<hmac>`.
// The signature is HMAC-SHA256 over the id and the expiry, so neither can be changed; the link itself is
// the credential (it is emailed). Several secrets may be configured: the first signs, all verify (rotation).

import { createHmac, timingSafeEqual } from 'node:crypto';
import { devSecret } from '../../core/dev-secrets.ts';
import type { ReportsConfig } from './config.ts';

export const REPORT_ID = /^[A-Za-z0-9_-]{1,128}$/;

function mac(secret: string, id: string, expires: number): Buffer {
  return createHmac('sha256', secret).update(`conveyor-report-download\n${id}\n${expires}`).digest();
}

export interface DownloadLink {
  url: string;
  expiresAt: string;
}

/** `now` is a parameter so tests can mint links that are already expired. */
export function createDownloadLink(opts: {
  baseUrl: string;
  id: string;
  secrets: readonly string[];
  ttlSeconds: number;
  now?: number;
}): DownloadLink {
  const [secret] = opts.secrets;
  if (!secret) throw new Error('no signing secret');
  if (!REPORT_ID.test(opts.id)) throw new Error(`bad report id "${opts.id}"`);
  const expires = Math.floor((opts.now ?? Date.now()) / 1000) + opts.ttlSeconds;
  const sig = mac(secret, opts.id, expires).toString('base64url');
  const path = `/v1/reports/${opts.id}/download?expires=${expires}&sig=${sig}`;
  return { url: `${opts.baseUrl.replace(/\/+$/, '')}${path}`, expiresAt: new Date(expires * 1000).toISOString() };
}

export type LinkCheck = { ok: true } | { ok: false; reason: 'invalid' | 'expired' };

/** Checks the signature first (so an attacker learns nothing from the expiry), then the expiry. */
export function verifyDownloadLink(
  opts: { id: string; expires: unknown; sig: unknown; secrets: readonly string[] },
  now = Date.now(),
): LinkCheck {
  const { id, expires, sig } = opts;
  if (typeof expires !== 'string' || !/^\d{1,12}$/.test(expires)) return { ok: false, reason: 'invalid' };
  if (typeof sig !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(sig) || !REPORT_ID.test(id)) return { ok: false, reason: 'invalid' };
  const given = Buffer.from(sig, 'base64url');
  const exp = Number(expires);
  const valid = opts.secrets.some((s) => {
    const want = mac(s, id, exp);
    return want.length === given.length && timingSafeEqual(want, given);
  });
  if (!valid) return { ok: false, reason: 'invalid' };
  if (exp * 1000 <= now) return { ok: false, reason: 'expired' };
  return { ok: true };
}

/**
 * REPORTS_SIGNING_SECRET, or outside production one generated once and kept in DATA_DIR (so the web and
 * worker processes of a development setup agree). Null in production without the variable.
 */
export function signingSecrets(config: ReportsConfig): string[] | null {
  if (config.REPORTS_SIGNING_SECRET) return config.REPORTS_SIGNING_SECRET;
  if (config.NODE_ENV === 'production') return null;
  return [devSecret(config, 'reports-signing-secret').value];
}
