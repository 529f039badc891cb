// Flow job ends written together (sql/flows-finish.sql): one writer per flow in this process; the ends that
// arrive for a flow while its write is in flight go in the next one. Every write locks the flow's row, so one
// by one a fan-in of 1,000 parents was 1,000 locked round trips in a row; batched it is a few. An end alone
// is written at once, so a quiet flow waits for nothing.
import type { FinishResult, JobFinish } from '../../../../flows/types.ts';

export interface End {
  key: string;
  end: JobFinish;
}

/** write `ends` (distinct keys) of one flow; a result per key (null: no such flow) */
export type FinishMany = (flowId: string, ends: End[]) => Promise<Map<string, FinishResult | null>>;

interface Waiting extends End {
  resolve(r: FinishResult | null): void;
  reject(err: unknown): void;
}

/** the most ends one statement takes */
const MAX_BATCH = 500;

export class FinishBatcher {
  private readonly flows = new Map<string, Waiting[]>();

  constructor(private readonly write: FinishMany) {}

  finish(flowId: string, key: string, end: JobFinish): Promise<FinishResult | null> {
    return new Promise((resolve, reject) => {
      const waiting = this.flows.get(flowId);
      const entry = { key, end, resolve, reject };
      if (waiting) waiting.push(entry);
      else {
        const queue = [entry];
        this.flows.set(flowId, queue);
        void this.drain(flowId, queue);
      }
    });
  }

  private async drain(flowId: string, queue: Waiting[]) {
    while (queue.length > 0) {
      // one end per key a statement: a repeat of a key (a re-run racing its first end) waits for the next
      const batch: Waiting[] = [];
      const keys = new Set<string>();
      for (let i = 0; i < queue.length && batch.length < MAX_BATCH; ) {
        const w = queue[i] as Waiting;
        if (keys.has(w.key)) {
          i++;
          continue;
        }
        keys.add(w.key);
        batch.push(w);
        queue.splice(i, 1);
      }
      try {
        const results = await this.write(flowId, batch);
        for (const w of batch) w.resolve(results.get(w.key) ?? null);
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.flows.delete(flowId);
  }
}
