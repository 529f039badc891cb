// A real SMTP server for email tests (smtp-server), recording what arrived parsed by mailparser.
// `onRcptTo` decides per recipient: return an SMTP reply code to refuse it (e.g. 550, 451).
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { onTestFinished } from 'vitest';
import type { HandlerDeps } from '../core/handler.ts';
import type { Config } from '../workers/config.ts';
import { handlerDeps as depsFor } from '../workers/handlers.ts';
import { quietLogger } from './helpers.ts';

export interface TestSmtp {
  url: string;
  port: number;
  messages: ParsedMail[];
  /** RCPT TO attempts per address */
  rcptCounts: Map<string, number>;
}

export async function startTestSmtp(opts: { onRcptTo?: (address: string, count: number) => number | undefined } = {}): Promise<TestSmtp> {
  const messages: ParsedMail[] = [];
  const rcptCounts = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 1_000,
    onRcptTo(address, _session, callback) {
      const n = (rcptCounts.get(address.address) ?? 0) + 1;
      rcptCounts.set(address.address, n);
      const code = opts.onRcptTo?.(address.address, n);
      if (code) {
        const err = new Error(code >= 500 ? 'no such mailbox here' : 'greylisted, try again later') as Error & { responseCode: number };
        err.responseCode = code;
        callback(err);
        return;
      }
      callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((m) => {
          messages.push(m);
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `smtp://127.0.0.1:${port}`, port, messages, rcptCounts };
}

export function handlerDeps(config: Config, backend: HandlerDeps['backend']): HandlerDeps<Config> {
  return depsFor({ config, logger: quietLogger, backend });
}

/** The raw value of a header line as sent (unfolded), e.g. `List-Unsubscribe`. */
export function headerText(m: ParsedMail, name: string): string | undefined {
  const line = m.headerLines.find((h) => h.key === name.toLowerCase())?.line;
  return line
    ?.slice(line.indexOf(':') + 1)
    .replace(/\r?\n[ \t]+/g, ' ')
    .trim();
}
