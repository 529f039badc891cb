// Where the development mail catcher keeps what it caught: the backend's recent list `email:caught`
// (core/stores.ts RecentList), capped at EMAIL_CATCHER_MAX messages (oldest dropped first), so the web
// process can read mail a worker caught.
//   Redis:    ${QUEUE_PREFIX}:_conveyor:email:caught       list of ids, newest first
//             ${QUEUE_PREFIX}:_conveyor:email:caught:data  hash id → message JSON
//   Postgres: <schema>.conveyor_email_caught (id, received_at, mail jsonb)
import type { Backend } from '../../core/backend.ts';
import type { RecentList } from '../../core/stores.ts';

export interface CaughtMail {
  id: string;
  receivedAt: string;
  /** the SMTP envelope (what the transport said), not the headers */
  envelope: { from: string | null; to: string[] };
  subject: string;
  from: string;
  to: string;
  replyTo: string | null;
  messageId: string | null;
  /** every header line as sent, in order */
  headers: { name: string; value: string }[];
  html: string | null;
  text: string | null;
  attachments: { filename: string | null; contentType: string; size: number }[];
  size: number;
}

export type CaughtMailSummary = Pick<CaughtMail, 'id' | 'receivedAt' | 'subject' | 'from' | 'to' | 'size'>;

export type CaughtMailStore = RecentList<CaughtMail>;

/** The caught-mail store in the backend's store (shared by the worker that catches and the web that reads). */
export const caughtMailStore = (backend: Pick<Backend, 'recentList'>): CaughtMailStore => backend.recentList<CaughtMail>('email:caught');

const summarize = (m: CaughtMail): CaughtMailSummary => ({
  id: m.id,
  receivedAt: m.receivedAt,
  subject: m.subject,
  from: m.from,
  to: m.to,
  size: m.size,
});

/** Newest first. */
export async function listCaughtMail(store: CaughtMailStore, limit = 50): Promise<CaughtMailSummary[]> {
  return (await store.list(limit)).map(summarize);
}

export async function getCaughtMail(store: CaughtMailStore, id: string): Promise<CaughtMail | null> {
  return store.get(id);
}
