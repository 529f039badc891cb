// The development default when SMTP_URL is not set: a real SMTP server (smtp-server) on 127.0.0.1 that
// accepts every message, parses it (mailparser) and stores it for GET /v1/mail. Nothing leaves the machine.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import type { Logger } from 'pino';
import { SMTPServer } from 'smtp-server';
import type { CaughtMail, CaughtMailStore } from './caught-mail.ts';

export interface MailCatcher {
  host: string;
  port: number;
  close(): Promise<void>;
}

const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

export async function startMailCatcher(opts: {
  store: CaughtMailStore;
  cap: number;
  /** 0 = any free port; a taken port falls back to a free one (several workers on one machine) */
  port: number;
  logger: Logger;
}): Promise<MailCatcher> {
  const server = new SMTPServer({
    name: 'conveyor-mail-catcher',
    banner: 'Conveyor development mail catcher: nothing is delivered',
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    size: MAX_MESSAGE_BYTES,
    logger: false,
    // pooled clients keep connections open; do not wait the default 30 s for them at shutdown
    closeTimeout: 2_000,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then(async (parsed) => {
          if ((stream as { sizeExceeded?: boolean }).sizeExceeded) {
            const err = new Error(`message exceeds ${MAX_MESSAGE_BYTES} bytes`) as Error & { responseCode: number };
            err.responseCode = 552;
            throw err;
          }
          const text = (a: { text?: string } | { text?: string }[] | undefined) =>
            a === undefined ? '' : Array.isArray(a) ? a.map((x) => x.text ?? '').join(', ') : (a.text ?? '');
          const mail: CaughtMail = {
            id: randomUUID(),
            receivedAt: new Date().toISOString(),
            envelope: {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
              to: session.envelope.rcptTo.map((r) => r.address),
            },
            subject: parsed.subject ?? '',
            from: text(parsed.from),
            to: text(parsed.to),
            replyTo: parsed.replyTo ? text(parsed.replyTo) : null,
            messageId: parsed.messageId ?? null,
            headers: parsed.headerLines.map((h) => {
              const i = h.line.indexOf(':');
              return {
                name: h.line.slice(0, i).trim(),
                value: h.line
                  .slice(i + 1)
                  .replace(/\r?\n[ \t]+/g, ' ')
                  .trim(),
              };
            }),
            html: typeof parsed.html === 'string' ? parsed.html : null,
            text: parsed.text ?? null,
            attachments: parsed.attachments.map((a) => ({ filename: a.filename ?? null, contentType: a.contentType, size: a.size })),
            size: 0,
          };
          mail.size = Buffer.byteLength(mail.html ?? '') + Buffer.byteLength(mail.text ?? '');
          await opts.store.push(mail, opts.cap);
          opts.logger.info(
            { mailId: mail.id, to: mail.envelope.to, subject: mail.subject },
            'mail caught (development catcher; not delivered)',
          );
          callback(null, `caught as ${mail.id}`);
        })
        .catch((err: Error) => {
          opts.logger.warn({ err: err.message }, 'mail catcher could not store a message');
          if (!(err as { responseCode?: number }).responseCode) (err as Error & { responseCode: number }).responseCode = 451;
          callback(err);
        });
    },
  });
  server.on('error', (err) => opts.logger.warn({ err: err.message }, 'mail catcher error'));

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.server.once('error', onError);
      server.listen(port, '127.0.0.1', () => {
        server.server.off('error', onError);
        resolve((server.server.address() as AddressInfo).port);
      });
    });
  let port: number;
  try {
    port = await listen(opts.port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    opts.logger.warn({ port: opts.port }, 'EMAIL_CATCHER_PORT is taken; the mail catcher uses a free port instead');
    port = await listen(0);
  }
  opts.logger.info({ port }, `SMTP_URL is not set: mail goes to the development catcher on smtp://127.0.0.1:${port} (GET /v1/mail)`);
  return {
    host: '127.0.0.1',
    port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
