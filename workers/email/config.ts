// The email domain's settings (workers/email/README.md).
import { z } from 'zod';
import { defineSection, int, type KernelConfig, type SectionValues } from '../../core/config/index.ts';

/** `name@host` or `Display Name <name@host>` */
const mailbox = /^(?:[^<>\r\n]*<[^<>\s@]+@[^<>\s@]+>|[^<>\s@]+@[^<>\s@]+)$/;

export const emailSection = defineSection('email', {
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'expects an smtp:// or smtps:// URL' }).optional(),
  EMAIL_FROM: z
    .string()
    .regex(mailbox, { error: 'expects an address, e.g. `Acme <no-reply@acme.test>`' })
    .default('Conveyor <no-reply@localhost>'),
  EMAIL_REPLY_TO: z.string().regex(mailbox, { error: 'expects an address, e.g. `support@acme.test`' }).optional(),
  EMAIL_RATE_PER_SECOND: int(1, 100_000).default(10),
  EMAIL_SMTP_POOL_SIZE: int(1, 100).default(5),
  EMAIL_UNSUBSCRIBE_URL: z
    .url({ protocol: /^(https|mailto)$/, error: 'expects an https: or mailto: URL' })
    .default('mailto:unsubscribe@localhost?subject=unsubscribe'),
  EMAIL_LEDGER_TTL_SECONDS: int(3600).default(604_800),
  EMAIL_CATCHER_PORT: int(0, 65535).default(1025),
  EMAIL_CATCHER_MAX: int(1, 100_000).default(200),
  /** the group of an email.send job the caller gave none (docs/groups.md): the first recipient's domain, or none */
  EMAIL_GROUP_BY: z.enum(['domain', 'none'], { error: 'expects domain or none' }).default('domain'),
  /** JSON {"<domain>": "<provider>"}: domains that share one provider's limits, e.g. {"gmail.com": "google", "googlemail.com": "google"} */
  EMAIL_GROUP_PROVIDERS: z
    .string()
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expects JSON {"<domain>": "<provider>"}' });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string().min(1).max(253), z.string().min(1).max(128)))
    .optional(),
});

/** What the email domain reads: the kernel's settings and its own. */
export type EmailConfig = KernelConfig & SectionValues<typeof emailSection.shape>;
