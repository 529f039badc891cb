// A running job's progress (and, on pg-boss, its log lines) on their way to the store, the same on both
// engines: at most one write per OUTPUT_WRITE_MS per run, the last value of each field wins. On pg-boss a
// write is an UPDATE of the job row (a new row version, WAL, index entries) plus a NOTIFY, so one write per
// `ctx.progress()` made a 1 ms job that reports progress twice cost ten times a no-op; on BullMQ it is a
// Lua call and a stream event. When the run ends, what is pending is written before its outcome
// (`end(true)`), except on a pg-boss completion, which carries the final progress itself (`end(false)`).
// One writer per run; it allocates nothing more until the run's first report (most runs report none).

/** the longest a reported progress or log line waits before it is in the row and watchers hear of it */
export const OUTPUT_WRITE_MS = 100;

export type OutputField = 'progress' | 'log';

export class OutputWriter {
  private pending: Map<OutputField, unknown> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
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
    this.pending ??= new Map();
    this.pending.set(field, value);
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.everyMs);
      this.timer.unref();
    }
  }

  /**
   * Write what is pending now (after any write under way); never rejects: a failed write is reported.
   * Undefined when nothing was ever written (nothing to wait for).
   */
  flush(): Promise<void> | undefined {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending?.size) return this.writing;
    const fields = Object.fromEntries(this.pending);
    this.pending.clear();
    const after = this.writing ?? Promise.resolve();
    this.writing = after.then(() => this.write(fields)).catch((err: unknown) => this.onError(err as Error));
    return this.writing;
  }

  /**
   * The run has ended: write what is pending (a failed run) or forget it (a completed run: the completion
   * carries the final progress). Later `set` calls are ignored.
   */
  end(writePending: boolean): Promise<void> | undefined {
    this.ended = true;
    if (writePending) return this.flush();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    return this.writing;
  }
}
