// Who may read /metrics and /v1/scaling: the bearer METRICS_TOKEN (what Prometheus and KEDA are given),
// or an API key with the `metrics` or `admin` scope. Nothing but /healthz and /readyz answers without one.
import { timingSafeEqual } from 'node:crypto';
import type { ApiKeyConfig } from '../config/index.ts';
import { sha256 } from '../hash.ts';

export const METRICS_SCOPES = ['metrics', 'admin'];

export function metricsAuthorized(authorization: string | undefined, token: string | undefined, apiKeys: ApiKeyConfig[]): boolean {
  const presented = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (!presented) return false;
  const hash = sha256(presented);
  if (token && timingSafeEqual(Buffer.from(hash, 'hex'), Buffer.from(sha256(token), 'hex'))) return true;
  const key = apiKeys.find((k) => k.sha256 === hash);
  return key?.scopes.some((s) => METRICS_SCOPES.includes(s)) ?? false;
}
