// A running job's progress and log lines on their way to its row. On pg-boss each write is an UPDATE of the
// job row (a new row version, WAL, index entries) plus a NOTIFY for watchers, so one write per
// `ctx.progress()` made a 1 ms job that reports progress twice cost ten times a no-op. Writes are
// coalesced instead: at most one per OUTPUT_WRITE_MS per run, the last value of each field wins. A run
// that completes sooner writes none (its final progress travels with the completion, completions.ts); a
// failed run's pending values are written before its failure is (`flush`).

/** the longest a reported progress or log line waits before it is in the row and watchers hear of it */
export const OUTPUT_WRITE_MS = 100;

export type OutputField = 'progress' | 'log';

export class OutputWriter {
  private readonly pending = new Map<OutputField, unknown>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private ended = false;

  /** `write` stores the fields (merged into the row's output) and tells watchers; it may reject */
  constructor(
    private readonly write: (fields: Partial<Record<OutputField, unknown>>) => Promise<void>,
    private readonly onError: (err: Error) => void,
    private readonly everyMs = OUTPUT_WRITE_MS,
  ) {}

  /** Record a field's latest value; it is written within `everyMs`. */
  set(field: OutputField, value: unknown) {
    if (this.ended) return; // a handler going on past its run's end (timeout, cancel) writes nothing more
    this.pending.set(field, value);
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.everyMs);
      this.timer.unref();
    }
  }

  /** Write what is pending now (after any write under way); never rejects: a failed write is reported. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return this.writing;
    const fields = Object.fromEntries(this.pending);
    this.pending.clear();
    this.writing = this.writing.then(() => this.write(fields)).catch((err: unknown) => this.onError(err as Error));
    return this.writing;
  }

  /**
   * The run has ended: write what is pending (a failed run) or forget it (a completed run: the completion
   * carries the final progress). Later `set` calls are ignored.
   */
  end(writePending: boolean): Promise<void> {
    this.ended = true;
    if (writePending) return this.flush();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
    return this.writing;
  }
}
