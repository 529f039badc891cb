// Multi-row UPDATEs of job rows run side by side in one worker (completion batches, start marks,
// heartbeats, other processes' writes) and lock their rows in scan order, so Postgres may pick one as a
// deadlock victim (40P01). That statement did nothing: run it again, a few times, rather than drop the
// write (a lost completion means the job runs again).
const RETRYABLE = new Set(['40P01', '40001']);
const TRIES = 4;

export async function retryingDeadlocks<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (attempt >= TRIES || typeof code !== 'string' || !RETRYABLE.has(code)) throw err;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * attempt));
    }
  }
}
