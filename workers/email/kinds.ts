// The `email` queue and the `email.send` kind. The payload is a discriminated union on `template`:
// each template's own zod schema validates `vars`, so a bad payload is a 400 at enqueue naming the
// field (`data.vars.name`), and the handler only ever sees vars its template accepts.
import { z } from 'zod';
import { job } from '../../core/kinds.ts';
import { type TemplateName, templateDefinitions, templateNames } from '../../templates/index.ts';
import { type EmailGroupConfig, emailGroup } from './group.ts';

export const emailQueues = {
  // The per-second limit is EMAIL_RATE_PER_SECOND (config), passed to the worker runtime; this is the fallback.
  // grouped by recipient domain (./group.ts): at most 5 sends to one provider at once unless GROUP_LIMITS says otherwise
  email: { concurrency: 10, rateLimit: { max: 10, durationMs: 1000 }, groups: { concurrency: 5 } },
} as const;

/** `transactional` mail is sent without List-Unsubscribe; every other category carries it. */
export const emailCategories = ['transactional', 'notification', 'digest', 'marketing'] as const;
export type EmailCategory = (typeof emailCategories)[number];

const address = z.email({ error: 'expects an email address' }).max(254);

const common = {
  to: z.union([address, z.array(address).min(1).max(50)], { error: 'expects an email address or a list of 1 to 50' }),
  category: z.enum(emailCategories).default('transactional'),
  replyTo: address.optional().describe('overrides EMAIL_REPLY_TO'),
  unsubscribeUrl: z
    .url({ protocol: /^(https|mailto)$/, error: 'expects an https: or mailto: URL' })
    .max(2048)
    .optional()
    .describe('per-recipient List-Unsubscribe target (non-transactional only); default EMAIL_UNSUBSCRIBE_URL'),
};

function variant<N extends TemplateName>(name: N) {
  return z.strictObject({
    template: z.literal(name),
    vars: templateDefinitions[name].vars as (typeof templateDefinitions)[N]['vars'],
    ...common,
  });
}
type Variant = { [N in TemplateName]: ReturnType<typeof variant<N>> }[TemplateName];

export const emailSendPayload = z.discriminatedUnion('template', templateNames.map(variant) as unknown as [Variant, ...Variant[]], {
  error: (iss) => (iss.code === 'invalid_union' ? `expects a template name: ${templateNames.join(', ')}` : undefined),
});

/** What the `email.send` handler receives (defaults applied). */
export type EmailSendPayload = z.output<typeof emailSendPayload>;

export const emailKinds = {
  'email.send': job({
    queue: 'email',
    description:
      'Renders a template (MJML, compiled at boot) with the given vars and sends it over SMTP. Sent at most once per job: a ledger records the accepted message before the job completes.',
    payload: emailSendPayload,
    // served per recipient domain (or provider), so one provider's limits hold (docs/groups.md)
    group: (p, config) => emailGroup(p.to, config as EmailGroupConfig),
    // survives a 6-hour SMTP outage: retried (2 s, 4 s, … then about every 5 min) until 6 h after the
    // first failure; 100 attempts is the ceiling, the last one held back to the end of the 6 h
    defaults: {
      attempts: 100,
      retryForMs: 6 * 3_600_000,
      backoff: { baseMs: 2_000, capMs: 10 * 60_000, jitter: 'full' },
      timeoutMs: 30_000,
    },
  }),
};
