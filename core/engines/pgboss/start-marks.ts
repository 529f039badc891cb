// Start marks (sql/mark-started.sql): a job's row says its run started, so that a crash from then on
// counts as a stall (stalls.ts) while a job only fetched ahead goes back untouched. One writer at a
// time: starts that arrive while a write is in flight go together in the next one, so a busy consumer
// pays one UPDATE per round trip, not one per job (the cost that held the engine to a quarter of raw
// pg-boss, docs/benchmarks.md), and a run that has already ended when its turn comes is not marked at
// all (a crash then re-runs it without counting a stall: it was not the run that crashed). A failed
// write is logged: the jobs then count as never started.
import type { PgbossContext } from './context.ts';
import { retryingDeadlocks } from './deadlock.ts';

export class StartMarks {
  private pending: string[] = [];
  private writing: Promise<void> | undefined;

  constructor(
    private readonly ctx: PgbossContext,
    private readonly queue: string,
    /** whether a run is still going: a run that ended before its mark was sent needs none */
    private readonly running: (id: string) => boolean,
  ) {}

  /** Mark `ids` started; the write joins the next batch. */
  add(ids: string[]): void {
    if (ids.length === 0) return;
    this.pending.push(...ids);
    void this.flush();
  }

  /** Write everything pending (a call during a write joins it). */
  flush(): Promise<void> {
    this.writing ??= this.drain().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  private async drain() {
    while (this.pending.length > 0) {
      const ids = this.pending.filter(this.running);
      this.pending = [];
      if (ids.length === 0) continue;
      await retryingDeadlocks(() => this.ctx.q(this.ctx.sql['mark-started'], [this.queue, ids])).catch((err) =>
        this.ctx.log.warn({ queue: this.queue, err: (err as Error).message }, 'mark-started failed'),
      );
    }
  }
}
