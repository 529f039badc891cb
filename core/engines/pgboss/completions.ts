// Completed runs are written in batches behind the runs: a run's slot frees when its handler returns,
// and one pg-boss `complete` call marks every plain completion of the batch, one statement every completion
// that carries a result or progress (sql/complete-with-outputs.sql). A lost write means a re-run, never a
// lost job.
import type { Output, PgbossContext } from './context.ts';
import { retryingDeadlocks } from './deadlock.ts';

export class Completions {
  private readonly pending: { id: string; output: Output | null }[] = [];
  /** the batch being written */
  private writing: string[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly ctx: PgbossContext,
    private readonly queue: string,
    /** beyond this many unwritten completions, a run waits for the write (back-pressure) */
    private readonly highWater: number,
    /** after a batch is written: these rows are completed now */
    private readonly onWritten: (ids: string[]) => void = () => {},
  ) {}

  /** Record a completed run; resolves at once unless the backlog is past the high-water mark. */
  async add(id: string, result: unknown, progress: unknown) {
    const output = result === null && progress === undefined ? null : ({ result, progress } as Output);
    this.pending.push({ id, output });
    if (this.pending.length > this.highWater) await this.flush();
    else void this.flush();
  }

  /** Write everything pending (one writer at a time; a call during a write joins it). */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async drain() {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.pending.length);
      this.writing = batch.map((c) => c.id);
      const plain = batch.filter((c) => c.output === null).map((c) => c.id);
      const rich = batch.filter((c) => c.output !== null);
      const { boss, q, sql } = this.ctx;
      await Promise.all([
        plain.length ? retryingDeadlocks(() => boss.complete(this.queue, plain)) : undefined,
        rich.length ? retryingDeadlocks(() => q(sql['complete-with-outputs'], [this.queue, JSON.stringify(rich)])) : undefined,
      ]).then(
        () => this.onWritten(batch.map((c) => c.id)),
        (err) =>
          this.ctx.log.error({ queue: this.queue, err: (err as Error).message }, 'could not mark jobs completed; they will run again'),
      );
      this.writing = [];
    }
  }

  /**
   * Runs that ended and whose completion is not written yet: still `active` in the table, so they are
   * heartbeated and held like running ones (a slow write must not make a sweep put a finished job back).
   */
  ids(): string[] {
    return [...this.writing, ...this.pending.map((c) => c.id)];
  }
}
