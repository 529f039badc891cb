// A subscription's signing secrets (docs/webhooks.md, "Rotating a secret"): the current one, and during a
// rotation's grace the one before it. Deliveries are signed with both side by side (Standard Webhooks allows
// several signatures in webhook-signature), so a receiver still verifying with the old secret accepts them
// until it switches; after the grace only the current one signs. There are never more than two.
import type { Subscription } from '../../core/outbound/events.ts';
import { newSigningSecret, type SecretList } from '../../core/outbound/index.ts';

/** Is `s` in a rotation's grace at `now` (ms)? */
export const inGrace = (s: Subscription, now: number): boolean =>
  s.previousSecretExpiresAt !== undefined && Date.parse(s.previousSecretExpiresAt) > now;

/**
 * What signs a delivery to `s` at `now`: its secret, then (in a grace) the previous one; undefined entries
 * are SIGNING_SECRET (a subscription that has none of its own, or had none before its rotation). A deleted
 * subscription (null) signs with SIGNING_SECRET.
 */
export function signingSecrets(s: Subscription | null, now: number): SecretList {
  if (!s) return undefined;
  return inGrace(s, now) ? [s.secret, s.previousSecret] : s.secret;
}

export interface Rotation {
  /** the new secret; generated when absent */
  secret?: string;
  /** how long the current secret keeps signing beside the new one; 0: dropped at once */
  graceSeconds: number;
}

/**
 * `s` with a new secret. The current one (SIGNING_SECRET for a subscription without its own) becomes the
 * previous for `graceSeconds`, replacing any previous one still in its grace: only ever two.
 */
export function rotated(s: Subscription, r: Rotation, now: number): Subscription {
  const { previousSecret: _secret, previousSecretExpiresAt: _expires, ...rest } = s;
  const next: Subscription = { ...rest, secret: r.secret ?? newSigningSecret() };
  if (r.graceSeconds === 0) return next;
  return {
    ...next,
    ...(s.secret ? { previousSecret: s.secret } : {}),
    previousSecretExpiresAt: new Date(now + r.graceSeconds * 1000).toISOString(),
  };
}
