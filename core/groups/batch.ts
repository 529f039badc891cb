// Coalesces a store's frees (the group settler's, one per finished job) into batches: while one batch is in
// flight the next accumulates, so at high rates one round trip frees many slots (one SQL statement, one Redis
// pipeline) instead of one per job, and at low rates a free goes out at once.
export interface Slot {
  queue: string;
  group: string;
  id: string;
}

export class FreeBatcher {
  private pending: { slot: Slot; resolve(freed: boolean): void; reject(err: unknown): void }[] = [];
  private inFlight = false;

  constructor(
    private readonly freeMany: (queue: string, slots: Slot[]) => Promise<boolean[]>,
    private readonly max = 500,
  ) {}

  free(slot: Slot): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ slot, resolve, reject });
      if (!this.inFlight) void this.flush();
    });
  }

  private async flush() {
    this.inFlight = true;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.max);
      const byQueue = new Map<string, typeof batch>();
      for (const p of batch) byQueue.set(p.slot.queue, [...(byQueue.get(p.slot.queue) ?? []), p]);
      await Promise.all(
        [...byQueue].map(async ([queue, items]) => {
          try {
            const freed = await this.freeMany(
              queue,
              items.map((i) => i.slot),
            );
            for (const [k, i] of items.entries()) i.resolve(freed[k] ?? false);
          } catch (err) {
            for (const i of items) i.reject(err);
          }
        }),
      );
    }
    this.inFlight = false;
  }
}
