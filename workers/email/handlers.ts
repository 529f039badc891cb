// Handlers for `email.send`: render the template compiled at boot, send through a pooled SMTP transport
// (SMTP_URL, or the development mail catcher), and never send one job's message twice (send ledger).
import nodemailer, { type Transporter } from 'nodemailer';
import { PermanentError, RetryLaterError } from '../../core/errors/index.ts';
import type { HandlerContext, HandlerDeps, HandlerSet, HandlersFor } from '../../core/handler.ts';
import { caughtMailStore } from './caught-mail.ts';
import type { EmailConfig } from './config.ts';
import type { EmailSendPayload, emailKinds } from './kinds.ts';
import { type MailCatcher, startMailCatcher } from './mail-catcher.ts';
import { type SendLedger, type SendRecord, sendLedger } from './send-ledger.ts';
import { classifySmtpError } from './smtp-errors.ts';
import { getCompiledTemplates, renderEmail } from './templates.ts';

/**
 * How long a run holds the right to send. Longer than the slowest possible send (the transport's
 * connection + greeting + socket timeouts below), so a duplicate run of a stalled job waits instead
 * of sending; if the process dies mid-send the claim lapses and a retry sends (at least once).
 */
const SEND_LEASE_MS = 120_000;
const TRANSPORT_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

export interface EmailHandlerOptions {
  /** Test-only: runs after SMTP accepted the message and the ledger recorded it (e.g. throw to fail the job). */
  afterSend?: (ctx: HandlerContext) => void | Promise<void>;
  /** another ledger; by default the backend's `email:sent` ledger (Redis for bullmq, Postgres for pgboss) */
  ledger?: SendLedger;
}

export type EmailSendResult = Omit<SendRecord, 'attempt'> & { attempt: number; alreadySent: boolean };

/** `Acme <no-reply@acme.test>` → `acme.test` */
const domainOf = (address: string) => /@([^>\s]+)>?\s*$/.exec(address)?.[1] ?? 'localhost';

/** A Message-ID fixed per job, so even a resend after a crash mid-send can be recognised by receivers. */
export function messageIdFor(jobId: string, from: string): string {
  return `<${jobId.replace(/[^A-Za-z0-9._-]/g, '_')}@${domainOf(from)}>`;
}

export function unsubscribeHeaders(payload: EmailSendPayload, config: Pick<EmailConfig, 'EMAIL_UNSUBSCRIBE_URL'>): Record<string, string> {
  if (payload.category === 'transactional') return {};
  const url = payload.unsubscribeUrl ?? config.EMAIL_UNSUBSCRIBE_URL;
  const headers: Record<string, string> = { 'List-Unsubscribe': `<${url}>` };
  // RFC 8058 one-click: only for https targets that accept the POST.
  if (url.startsWith('https:')) headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  return headers;
}

export async function createEmailHandlers(
  deps: HandlerDeps<EmailConfig>,
  opts: EmailHandlerOptions = {},
): Promise<HandlerSet<HandlersFor<typeof emailKinds>>> {
  const { config, logger } = deps;
  const log = logger.child({ module: 'email' });
  // Compile every template now: a broken template stops the worker at boot, not a send.
  const templates = await getCompiledTemplates();

  // State lives in the backend's store (Redis for bullmq, the engine's Postgres for pgboss); the backend owns it.
  const ledger = opts.ledger ?? sendLedger(deps.backend, config.EMAIL_LEDGER_TTL_SECONDS);
  const { transport, catcher } = await openTransport(deps, log);
  const send = sender({ config, templates, ledger, transport, afterSend: opts.afterSend });

  return {
    handlers: { 'email.send': send },
    close: async () => {
      transport.close();
      await catcher?.close();
    },
  };
}

/** SMTP_URL's pool, or (development) the mail catcher started here and a pool to it. */
async function openTransport(
  deps: HandlerDeps<EmailConfig>,
  log: HandlerDeps['logger'],
): Promise<{ transport: Transporter; catcher?: MailCatcher }> {
  const { config } = deps;
  if (config.SMTP_URL) {
    return {
      transport: nodemailer.createTransport({
        url: config.SMTP_URL,
        pool: true,
        maxConnections: config.EMAIL_SMTP_POOL_SIZE,
        ...TRANSPORT_TIMEOUTS,
      }),
    };
  }
  const catcher = await startMailCatcher({
    store: caughtMailStore(deps.backend),
    cap: config.EMAIL_CATCHER_MAX,
    port: config.EMAIL_CATCHER_PORT,
    logger: log,
  });
  const transport = nodemailer.createTransport({
    host: catcher.host,
    port: catcher.port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: config.EMAIL_SMTP_POOL_SIZE,
    ...TRANSPORT_TIMEOUTS,
  });
  return { transport, catcher };
}

interface SenderParts {
  config: EmailConfig;
  templates: Awaited<ReturnType<typeof getCompiledTemplates>>;
  ledger: SendLedger;
  transport: Transporter;
  afterSend?: EmailHandlerOptions['afterSend'];
}

/** The `email.send` handler: ledger claim → render → SMTP → ledger record. */
function sender({ config, templates, ledger, transport, afterSend }: SenderParts) {
  return async function send(payload: EmailSendPayload, ctx: HandlerContext): Promise<EmailSendResult> {
    const begun = await ledger.begin(ctx.jobId, SEND_LEASE_MS);
    if (begun.state === 'done') {
      ctx.log.info(
        { messageId: begun.record.messageId, sentAt: begun.record.sentAt },
        'email already sent by an earlier attempt; not sending again',
      );
      return { ...begun.record, alreadySent: true };
    }
    if (begun.state === 'busy') {
      throw new RetryLaterError(`another run of this job is sending its email; checking again in ${begun.retryInMs} ms`, begun.retryInMs);
    }
    let info: { messageId: string; accepted?: unknown[]; rejected?: unknown[]; response?: string };
    try {
      let rendered: ReturnType<typeof renderEmail>;
      try {
        rendered = renderEmail(templates, payload.template, payload.vars);
      } catch (err) {
        throw new PermanentError(`template ${payload.template} failed to render: ${(err as Error).message}`, { cause: err });
      }
      const replyTo = payload.replyTo ?? config.EMAIL_REPLY_TO;
      info = await transport.sendMail({
        from: config.EMAIL_FROM,
        to: payload.to,
        ...(replyTo ? { replyTo } : {}),
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        messageId: messageIdFor(ctx.jobId, config.EMAIL_FROM),
        headers: { ...unsubscribeHeaders(payload, config), 'X-Conveyor-Job-Id': ctx.jobId },
      });
    } catch (err) {
      await ledger
        .release(ctx.jobId, begun.token)
        .catch((e: Error) => ctx.log.warn({ err: e.message }, 'could not release the send claim'));
      throw err instanceof PermanentError ? err : classifySmtpError(err);
    }
    const record: SendRecord = {
      messageId: info.messageId,
      accepted: (info.accepted ?? []).map(String),
      rejected: (info.rejected ?? []).map(String),
      response: info.response ?? '',
      sentAt: new Date().toISOString(),
      attempt: ctx.attempt,
    };
    // Recorded before the job completes: from here on a retry finds the record and does not send again.
    await ledger.commit(ctx.jobId, record);
    if (record.rejected.length > 0) {
      ctx.log.warn({ rejected: record.rejected, accepted: record.accepted }, 'some recipients were refused; the message went to the rest');
    }
    ctx.log.info({ messageId: record.messageId, template: payload.template, recipients: record.accepted.length }, 'email sent');
    await afterSend?.(ctx);
    return { ...record, alreadySent: false };
  };
}
