// Completion webhooks, the emitting side (docs/webhooks.md): an event about a subject (a job; a workflow)
// becomes one delivery job per receiver on the `webhooks` queue — the subject's own `options.callback.url`
// and every admin subscription (POST /v1/webhooks) whose filter matches. The worker's webhooks domain
// (workers/webhooks/) POSTs each one, signed, with retries; this file only decides who gets what and
// enqueues it. Deterministic ids everywhere: the event's `webhook-id` comes from the subject id and the
// event type, a delivery's job id from that and its receiver, so emitting the same event twice (a settler
// re-run after a crash) enqueues nothing new.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Backend } from '../backend.ts';
import type { KernelConfig } from '../config/index.ts';
import type { EnqueueRequest, JobView } from '../engine.ts';

export const WEBHOOKS_QUEUE = 'webhooks';
export const DELIVER_KIND = 'webhooks.deliver';
/** RecordStore name of the subscriptions (Redis hash / pg-boss-schema table, like the runtime kinds) */
export const SUBSCRIPTIONS_STORE = 'webhook-subscriptions';

export const JOB_EVENTS = ['job.completed', 'job.dead', 'job.cancelled'] as const;
/** job.* here; other features add theirs (flow.completed, flow.failed) */
export type EventType = (typeof JOB_EVENTS)[number] | `${string}.${string}`;

export interface Subscription {
  /** its id (`whs_<hex>`): RecordStore names records */
  name: string;
  url: string;
  /** event types; empty: every event */
  events: string[];
  /** job kinds and queues it wants; both empty: every subject */
  kinds: string[];
  queues: string[];
  description?: string;
  /**
   * `whsec_<base64>`: this receiver's own signing secret (shown once, when subscribed); deliveries to it are
   * signed with it. Subscriptions made before it existed have none and are signed with SIGNING_SECRET.
   */
  secret?: string;
  /**
   * A rotation's grace (POST /v1/webhooks/:id/rotate-secret): until this time deliveries are signed with
   * `previousSecret` too (absent: SIGNING_SECRET was the secret before), so receivers verifying with the
   * old secret keep accepting them. Past it, both are ignored (and replaced at the next rotation).
   */
  previousSecretExpiresAt?: string;
  previousSecret?: string;
  createdAt: string;
}

/** What an event is about: a job (kind and queue known), or another subject (a workflow). */
export interface EventSubject {
  id: string;
  kind?: string;
  queue?: string;
  /** the subject's own callback URL (options.callback.url) */
  callbackUrl?: string;
}

/** The job data of one delivery (the `webhooks.deliver` kind's payload). */
export const deliveryPayload = z.strictObject({
  url: z.string(),
  /** webhook-id: one per event, the same for every receiver and every retry */
  messageId: z.string(),
  /** `callback` or the subscription id */
  receiver: z.string(),
  type: z.string(),
  timestamp: z.string(),
  data: z.unknown(),
  /**
   * A delivery written before its event (job.cancelled: cancelIntent below): at run time the job must be in
   * `state`, and the job as it then is becomes `data`; in another final state, or still waiting/delayed
   * after `until`, the event did not happen and the delivery completes without sending.
   */
  check: z.strictObject({ jobId: z.string(), state: z.string(), until: z.string() }).optional(),
});
export type DeliveryPayload = z.infer<typeof deliveryPayload>;

export type WebhookSettings = Pick<
  KernelConfig,
  | 'WEBHOOK_ATTEMPTS'
  | 'WEBHOOK_TIMEOUT_MS'
  | 'WEBHOOKS_RELOAD_MS'
  | 'RETENTION_COMPLETED_SECONDS'
  | 'RETENTION_FAILED_SECONDS'
  | 'RETENTION_COMPLETED_COUNT'
  | 'RETENTION_FAILED_COUNT'
>;

const DEFAULTS: WebhookSettings = {
  WEBHOOK_ATTEMPTS: 25,
  WEBHOOK_TIMEOUT_MS: 10_000,
  WEBHOOKS_RELOAD_MS: 1_000,
  RETENTION_COMPLETED_SECONDS: 86_400,
  RETENTION_FAILED_SECONDS: 7 * 86_400,
  RETENTION_COMPLETED_COUNT: 10_000,
  RETENTION_FAILED_COUNT: 50_000,
};

const hex = (s: string, n = 32) => createHash('sha256').update(s).digest('hex').slice(0, n);

/** The event's webhook-id: the same for one (subject, type), across receivers, retries and re-emits. */
export const messageIdOf = (subjectId: string, type: string) => `msg_${hex(`${type}\n${subjectId}`)}`;
/** The delivery job's id for one receiver of one event. */
export const deliveryJobId = (messageId: string, receiver: string) => `webhook-${hex(`${messageId}\n${receiver}`)}`;

/** Does a subscription want this event? */
export function matches(s: Subscription, type: string, subject: EventSubject): boolean {
  if (s.events.length > 0 && !s.events.includes(type)) return false;
  if (s.kinds.length === 0 && s.queues.length === 0) return true;
  return (
    (subject.kind !== undefined && s.kinds.includes(subject.kind)) || (subject.queue !== undefined && s.queues.includes(subject.queue))
  );
}

/** A job as GET /v1/jobs/:id shows it: the event's `data`. */
export const jobEventData = (j: JobView) => ({ ...j, links: { self: `/v1/jobs/${encodeURIComponent(j.id)}` } });

/** The subject of a job's events. */
export const jobSubject = (j: Pick<JobView, 'id' | 'name' | 'queue' | 'callback'>): EventSubject => ({
  id: j.id,
  kind: j.name,
  queue: j.queue,
  callbackUrl: j.callback?.url,
});

export class WebhookEvents {
  private subs: Subscription[] | undefined;
  private loadedAt = 0;
  private loading: Promise<Subscription[]> | undefined;

  constructor(
    private readonly backend: Backend,
    /** replaced once by the first caller that has the process's config (webhookEvents below) */
    public settings: WebhookSettings,
    public defaulted = false,
  ) {}

  get store() {
    return this.backend.records<Subscription>(SUBSCRIPTIONS_STORE);
  }

  /** The subscriptions, at most WEBHOOKS_RELOAD_MS old; the last known ones when the store fails after a first read. */
  async subscriptions(): Promise<Subscription[]> {
    if (this.subs && Date.now() - this.loadedAt < this.settings.WEBHOOKS_RELOAD_MS) return this.subs;
    this.loading ??= this.store
      .list()
      .then(
        (list) => {
          this.subs = list;
          this.loadedAt = Date.now();
          return list;
        },
        (err) => {
          if (this.subs) return this.subs; // keep the last known: an outage must not drop subscriptions
          throw err;
        },
      )
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  /** Read the store on the next call (this process changed it). */
  invalidate(): void {
    this.loadedAt = 0;
  }

  /**
   * True when, as far as the subscriptions read at most WEBHOOKS_RELOAD_MS ago say, nobody receives `type`
   * about `subject`: decided without a promise, so a run with no receivers costs its settler nothing.
   * False when someone does or the subscriptions are due a reload (then `receivers` decides).
   */
  knownUnreceived(type: string, subject: EventSubject): boolean {
    if (subject.queue === WEBHOOKS_QUEUE) return true;
    if (subject.callbackUrl || !this.subs || Date.now() - this.loadedAt >= this.settings.WEBHOOKS_RELOAD_MS) return false;
    for (const s of this.subs) if (matches(s, type, subject)) return false;
    return true;
  }

  /** Who receives `type` about `subject`: its callback first, then each matching subscription. */
  async receivers(type: string, subject: EventSubject): Promise<{ receiver: string; url: string }[]> {
    // a delivery's own outcome is never an event: a catch-all subscription would feed itself
    if (subject.queue === WEBHOOKS_QUEUE) return [];
    const out = subject.callbackUrl ? [{ receiver: 'callback', url: subject.callbackUrl }] : [];
    for (const s of await this.subscriptions()) if (matches(s, type, subject)) out.push({ receiver: s.name, url: s.url });
    return out;
  }

  /**
   * Emit `type` about `subject`: one delivery job per receiver, ids deterministic (a repeat enqueues
   * nothing). `data` is built only when someone receives it. Resolves with the delivery job ids.
   */
  async emit(type: EventType, subject: EventSubject, data: () => unknown | Promise<unknown>): Promise<string[]> {
    const receivers = await this.receivers(type, subject);
    if (receivers.length === 0) return [];
    const messageId = messageIdOf(subject.id, type);
    const event = { type, timestamp: new Date().toISOString(), data: await data() };
    const reqs = receivers.map(({ receiver, url }) =>
      this.request(deliveryJobId(messageId, receiver), { url, messageId, receiver, ...event }, 0),
    );
    const results = await Promise.all(reqs.map((r) => this.backend.engine.enqueue(r)));
    return results.map((r) => r.job.id);
  }

  /**
   * Write `type`'s deliveries as intents (payload.check, run after delayMs): per receiver, the first
   * generation of its delivery id that is not a spent intent. A spent intent (completed unsent: its window
   * passed before the event; or dead or cancelled) can never send, so a later attempt at the same event
   * writes the next generation (`<delivery id>-g<n>`, the same webhook-id) instead of being swallowed by it.
   * At most one generation per receiver is ever live, so at most one sends. `fresh` is false when an
   * earlier generation was found (an earlier attempt at this event, maybe from a process that died).
   */
  async intend(
    type: EventType,
    subject: EventSubject,
    check: NonNullable<DeliveryPayload['check']>,
    delayMs: number,
  ): Promise<{ fresh: boolean }> {
    const receivers = await this.receivers(type, subject);
    const messageId = messageIdOf(subject.id, type);
    const event = { type, timestamp: new Date().toISOString(), data: null, check };
    const fresh = await Promise.all(
      receivers.map(async ({ receiver, url }) => {
        const base = deliveryJobId(messageId, receiver);
        for (let gen = 0; gen < INTENT_GENERATIONS; gen++) {
          const r = await this.backend.engine.enqueue(this.request(intentId(base, gen), { url, messageId, receiver, ...event }, delayMs));
          if (r.created) return gen === 0;
          if (!spentIntent(r.job)) return false;
        }
        throw new Error(`job ${subject.id}: ${INTENT_GENERATIONS} ${type} intents spent; not writing another`);
      }),
    );
    return { fresh: fresh.every(Boolean) };
  }

  private request(jobId: string, payload: DeliveryPayload, delayMs: number): EnqueueRequest {
    const s = this.settings;
    return {
      name: DELIVER_KIND,
      queue: WEBHOOKS_QUEUE,
      data: payload,
      priority: 5,
      delayMs,
      attempts: s.WEBHOOK_ATTEMPTS,
      // the handler computes its own delays (WEBHOOK_RETRY_*); this is the kind's fallback
      backoff: { baseMs: 5_000, capMs: 3_600_000, jitter: 'full' },
      timeoutMs: s.WEBHOOK_TIMEOUT_MS + 1_000,
      jobId,
      retention: {
        completedSeconds: s.RETENTION_COMPLETED_SECONDS,
        failedSeconds: s.RETENTION_FAILED_SECONDS,
        completedCount: s.RETENTION_COMPLETED_COUNT,
        failedCount: s.RETENTION_FAILED_COUNT,
      },
      meta: {},
    };
  }
}

/** How many spent intents one event may leave per receiver before a further attempt is refused. */
const INTENT_GENERATIONS = 16;
/** Generation `gen` of an intent's delivery job id (0: the event's own delivery id). */
export const intentId = (base: string, gen: number) => (gen === 0 ? base : `${base}-g${gen}`);
/** A delivery that ended without sending: an intent whose event did not happen in its window, or one that died. */
const spentIntent = (j: JobView) =>
  j.state === 'dead' || j.state === 'cancelled' || (j.state === 'completed' && (j.result as { sent?: unknown } | null)?.sent === false);

const byBackend = new WeakMap<Backend, WebhookEvents>();

/**
 * The backend's event emitter, one per backend in a process. The first caller with settings (the web's
 * routes, the worker's settler: every process passes its config) fixes them; callers without (bulk
 * actions) get the one there is, or one with the defaults.
 */
export function webhookEvents(backend: Backend, settings?: WebhookSettings): WebhookEvents {
  let e = byBackend.get(backend);
  if (!e) {
    e = new WebhookEvents(backend, settings ?? DEFAULTS, !settings);
    byBackend.set(backend, e);
  } else if (settings && e.defaulted) {
    e.settings = settings;
    e.defaulted = false;
  }
  return e;
}

/**
 * Emit an event about any subject (flows: `emitEvent(backend, 'flow.completed', { id: flowId }, () => view)`).
 * Deterministic: the same (subject id, type) is delivered once per receiver however often it is emitted.
 */
export function emitEvent(
  backend: Backend,
  type: EventType,
  subject: EventSubject,
  data: () => unknown | Promise<unknown>,
): Promise<string[]> {
  return webhookEvents(backend).emit(type, subject, data);
}

/** The states a cancel can act on (the others answer 409 and need no intent). */
export const CANCELLABLE: ReadonlySet<string> = new Set(['waiting', 'delayed', 'active']);
/** How long a job.cancelled intent waits for the cancel it announces before it concludes there was none. */
export const CANCEL_INTENT_WINDOW_MS = 60_000;
/** The intent's first run is this much after it is written: the cancel is normally stored by then. */
export const CANCEL_INTENT_DELAY_MS = 1_000;

/**
 * Cancel a job and tell its receivers, crash-safe: the job.cancelled deliveries are written first, as
 * intents (deterministic ids: the worker's settler, emitting the same event for a running job cancelled by
 * its worker, lands on the same delivery job), then `cancel` runs. A process that dies between the two
 * leaves an intent whose handler finds the job not cancelled and sends nothing; one that dies after the
 * cancel leaves an intent that sends. Nothing to write when nobody receives the event.
 */
export async function cancelWithEvent<T>(
  events: WebhookEvents,
  job: Pick<JobView, 'id' | 'name' | 'queue' | 'callback'>,
  cancel: () => Promise<T>,
  now = Date.now(),
): Promise<T> {
  const check = { jobId: job.id, state: 'cancelled', until: new Date(now + CANCEL_INTENT_WINDOW_MS).toISOString() };
  const intend = () => events.intend('job.cancelled', jobSubject(job), check, CANCEL_INTENT_DELAY_MS);
  const { fresh } = await intend();
  const r = await cancel();
  // an earlier attempt's intent was live: it may have read the job just before this cancel and be
  // concluding "no cancel" now; once it has, the walk writes the next generation, which reads cancelled
  if (!fresh) await intend();
  return r;
}
