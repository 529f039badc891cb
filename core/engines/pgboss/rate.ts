// A queue's rate limit across every worker process (`ConsumeOptions.rateLimit`: at most `max` starts per
// fixed window of `durationMs`), counted in `conveyor_rate` by the database clock. A consumer asks for as
// many starts as it has free slots, fetches that many jobs, and hands back what the fetch did not use.
// Fixed windows, as BullMQ's limiter: two windows meeting can start up to 2 × max within one duration.
import type { PgbossContext } from './context.ts';

export interface Grant {
  granted: number;
  windowStart: number;
  /** what is left of the window (when nothing was granted: when to ask again) */
  retryMs: number;
}

export class RateWindow {
  private ensured: Promise<unknown> | undefined;

  constructor(
    private readonly ctx: PgbossContext,
    private readonly queue: string,
    private readonly limit: { max: number; durationMs: number },
  ) {}

  async take(wanted: number): Promise<Grant> {
    const { ctx } = this;
    this.ensured ??= ctx.q(ctx.sql['rate-ensure'], [this.queue]).catch((err) => {
      this.ensured = undefined;
      throw err;
    });
    await this.ensured;
    const { rows } = await ctx.q(ctx.sql['rate-take'], [this.queue, wanted, this.limit.max, this.limit.durationMs]);
    const row = rows[0] as { granted: number; window_start: string; retry_ms: string } | undefined;
    if (!row) throw new Error(`rate limit of queue ${this.queue}: no window row`);
    return { granted: Number(row.granted), windowStart: Number(row.window_start), retryMs: Number(row.retry_ms) };
  }

  async giveBack(unused: number, windowStart: number): Promise<void> {
    if (unused <= 0) return;
    await this.ctx.q(this.ctx.sql['rate-give-back'], [this.queue, unused, windowStart]);
  }
}
