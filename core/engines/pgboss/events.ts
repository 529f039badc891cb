// Job events on pg-boss: the engine NOTIFYs its events channel after each write that changes a row's
// state (started, completed, failed / retried / dead, cancelled) or its progress; the Listener of every
// process that watches a job LISTENs on it. Payload: `{"t":"state"|"progress","ids":[uuid,…]}`, at most
// 100 ids a message (NOTIFY payloads stop at 8000 bytes). Fire and forget: an event is a hint, never the record.
import type { JobEvent } from '../../engine.ts';
import type { PgbossContext } from './context.ts';

const IDS_PER_MESSAGE = 100;

export interface EventMessage {
  t: JobEvent['type'];
  ids: string[];
}

export function emitEvents(ctx: PgbossContext, channel: string, uuids: string[], type: JobEvent['type']) {
  for (let i = 0; i < uuids.length; i += IDS_PER_MESSAGE) {
    const message: EventMessage = { t: type, ids: uuids.slice(i, i + IDS_PER_MESSAGE) };
    ctx
      .q(ctx.sql.notify, [channel, JSON.stringify(message)])
      .catch((err) => ctx.log.debug({ err: (err as Error).message }, 'job event not sent'));
  }
}
