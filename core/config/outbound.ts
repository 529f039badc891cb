// Outbound HTTP (HTTP-target kinds, completion webhooks): where requests may go and what signs them
// (core/outbound/, docs/http-kinds.md).
import { z } from 'zod';
import { Allowlist } from '../outbound/allowlist.ts';
import { secretProblem } from '../outbound/post.ts';
import { int } from './fields.ts';
import { defineSection } from './section.ts';

const allowlist = z
  .string()
  .default('')
  .transform((raw, ctx) => {
    try {
      return Allowlist.parse(raw);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `expects a comma list of hosts, host:port or CIDRs: ${(err as Error).message}` });
      return z.NEVER;
    }
  });

export const signingSecret = z.string().superRefine((s, ctx) => {
  const problem = secretProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const outboundSection = defineSection('outbound', {
  HTTP_TARGET_ALLOWLIST: allowlist,
  SIGNING_SECRET: signingSecret.optional(),
  HTTP_TARGET_MAX_RESPONSE_BYTES: int(1024, 16 * 1024 * 1024).default(65_536),
  // completion webhooks (core/outbound/events.ts, workers/webhooks/, docs/webhooks.md)
  WEBHOOK_ATTEMPTS: int(1, 100).default(25),
  WEBHOOK_RETRY_BASE_MS: int(10, 3_600_000).default(5_000),
  WEBHOOK_RETRY_CAP_MS: int(100, 86_400_000).default(3_600_000),
  WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
  WEBHOOKS_RELOAD_MS: int(100, 60_000).default(1_000),
});
