// SMTP failures → what the worker runtime should do with the job.
//   5xx (bad recipient, message refused)  → PermanentError: dead-letter now; retrying cannot help
//   4xx (greylisting, mailbox busy, 421)  → plain Error: retried with the kind's backoff
//   connection, DNS, TLS, timeouts, auth  → plain Error: retried (fix the config, the jobs wait)
import { PermanentError } from '../../core/errors/index.ts';

interface SmtpErrorLike {
  message?: string;
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  rejectedErrors?: SmtpErrorLike[];
}

/** The SMTP reply code that decided the failure (for all-recipients-rejected, the "best" of them). */
function replyCode(e: SmtpErrorLike): number | undefined {
  const codes = (e.rejectedErrors ?? []).map((r) => r.responseCode).filter((c): c is number => typeof c === 'number');
  // If any recipient got a temporary failure, a retry may still deliver: treat the whole as temporary.
  if (codes.some((c) => c >= 400 && c < 500)) return codes.find((c) => c >= 400 && c < 500);
  return e.responseCode ?? codes[0];
}

export function classifySmtpError(error: unknown): Error {
  const e = (error ?? {}) as SmtpErrorLike;
  const code = replyCode(e);
  const what = [e.command, code, e.response ?? e.message].filter(Boolean).join(' ');
  if (e.code === 'EAUTH') return new Error(`SMTP authentication failed (check SMTP_URL): ${what}`, { cause: error });
  if (typeof code === 'number' && code >= 500 && code < 600)
    return new PermanentError(`SMTP refused the message: ${what}`, { cause: error });
  if (typeof code === 'number' && code >= 400 && code < 500) return new Error(`SMTP temporary failure: ${what}`, { cause: error });
  return new Error(`SMTP send failed (${e.code ?? 'no code'}): ${e.message ?? String(error)}`, { cause: error });
}
