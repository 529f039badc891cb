// /readyz check for SMTP_URL: connect, greet, authenticate (nodemailer's verify), then hang up.
// The answer is cached briefly so a probe every few seconds does not open an SMTP session each time.
import nodemailer from 'nodemailer';
import type { ReadinessCheck } from '../../core/readiness.ts';
import type { EmailConfig } from './config.ts';

const CACHE_MS = 10_000;
let last: { url: string; at: number; error: Error | null } | undefined;

export async function verifySmtp(url: string): Promise<void> {
  const transport = nodemailer.createTransport({ url, connectionTimeout: 3_000, greetingTimeout: 3_000, socketTimeout: 3_000 });
  try {
    await transport.verify();
  } finally {
    transport.close();
  }
}

export const smtpReadiness: ReadinessCheck<EmailConfig> = {
  name: 'smtp',
  enabled: (config) => Boolean(config.SMTP_URL),
  async check({ config }) {
    const url = config.SMTP_URL as string;
    if (!last || last.url !== url || Date.now() - last.at > CACHE_MS) {
      let error: Error | null = null;
      try {
        await verifySmtp(url);
      } catch (err) {
        error = err as Error;
      }
      last = { url, at: Date.now(), error };
    }
    if (last.error) throw new Error(`SMTP: ${last.error.message}`);
  },
};
