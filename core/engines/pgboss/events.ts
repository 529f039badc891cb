// Job events on pg-boss: the engine NOTIFYs its events channel after each write that changes a row's
// state (started, completed, failed / retried / dead, cancelled) or its progress; the Listener of every
// process that watches a job LISTENs on it. Payload: `{"t":"state"|"progress","ids":[uuid,…]}`, at most
// 100 ids a message (NOTIFY payloads stop at 8000 bytes), coalesced while a send is in flight. Fire and forget: an event is a hint, never the record.
import type { JobEvent } from '../../engine.ts';
import type { PgbossContext } from './context.ts';

const IDS_PER_MESSAGE = 100;

export interface EventMessage {
  t: JobEvent['type'];
  ids: string[];
}

/**
 * Sends events for `uuids`. One sender at a time: events that arrive while a send is in flight go
 * together in the next one (each type's ids coalesced), so a busy worker sends a NOTIFY per round trip
 * rather than one per start or completion batch.
 */
export function eventSender(ctx: () => PgbossContext, channel: string): (uuids: string[], type: JobEvent['type']) => void {
  const pending: Record<JobEvent['type'], Set<string>> = { state: new Set(), progress: new Set() };
  let sending = false;
  const drain = async () => {
    for (;;) {
      const messages: EventMessage[] = [];
      for (const t of ['state', 'progress'] as const) {
        const ids = [...pending[t]];
        pending[t].clear();
        for (let i = 0; i < ids.length; i += IDS_PER_MESSAGE) messages.push({ t, ids: ids.slice(i, i + IDS_PER_MESSAGE) });
      }
      if (messages.length === 0) return;
      const c = ctx();
      await Promise.all(
        messages.map((m) =>
          c
            .q(c.sql.notify, [channel, JSON.stringify(m)])
            .catch((err) => c.log.debug({ err: (err as Error).message }, 'job event not sent')),
        ),
      );
    }
  };
  const kick = () => {
    if (sending) return;
    sending = true;
    void drain().finally(() => {
      sending = false;
      // events added between the last look and now
      if (pending.state.size > 0 || pending.progress.size > 0) kick();
    });
  };
  return (uuids, type) => {
    for (const id of uuids) pending[type].add(id);
    if (uuids.length > 0) kick();
  };
}
