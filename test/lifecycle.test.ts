// Process lifecycle (core/lifecycle.ts) as a real child process: services stop in reverse order on
// SIGTERM, and a stop step that hangs cannot keep the process past the grace plus the margin.
import { describe, expect, it } from 'vitest';
import { SHUTDOWN_MARGIN_MS } from '../core/lifecycle.ts';
import { spawnScript } from './processes.ts';

const GRACE_MS = 1_000;
const env = { WORKER_SHUTDOWN_GRACE_MS: String(GRACE_MS), REDIS_URL: 'redis://127.0.0.1:6379' };

/** resolves with the exit and how long after `since` it came; rejects past `deadlineMs` */
async function exitWithin(p: ReturnType<typeof spawnScript>, since: number, deadlineMs: number) {
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([
    p.exited,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running ${deadlineMs} ms after SIGTERM`)), deadlineMs);
    }),
  ]);
  clearTimeout(timer);
  return { ...exit, ms: Date.now() - since };
}

describe('process lifecycle', () => {
  it('starts services in order and stops them in reverse on SIGTERM, exit 0', async () => {
    const p = spawnScript('test/fixtures/hung-stop.ts', env);
    await p.waitForLog((l) => l.msg === 'ready', 'ready');
    p.child.kill('SIGTERM');
    const exit = await exitWithin(p, Date.now(), GRACE_MS + SHUTDOWN_MARGIN_MS);
    expect(exit.code).toBe(0);
    const order = (msg: string) => p.logs.filter((l) => l.msg === msg).map((l) => l.service);
    expect(order('service started')).toEqual(['first', 'second', 'third']);
    expect(order('service stopped')).toEqual(['third', 'second', 'first']);
  });

  it('a stop step that hangs: the process still exits 1 within grace + margin, naming the step', async () => {
    const p = spawnScript('test/fixtures/hung-stop.ts', { ...env, HANG_STOP: '1' });
    await p.waitForLog((l) => l.msg === 'ready', 'ready');
    const signalled = Date.now();
    p.child.kill('SIGTERM');
    const bound = GRACE_MS + SHUTDOWN_MARGIN_MS;
    const exit = await exitWithin(p, signalled, bound + 3_000); // + time for a loaded machine to run the timer and exit
    expect(exit.code).toBe(1);
    expect(exit.ms).toBeGreaterThanOrEqual(bound - 50);
    const fatal = p.logs.find((l) => l.level === 60);
    expect(fatal).toMatchObject({ hung: 'second', graceMs: GRACE_MS, marginMs: SHUTDOWN_MARGIN_MS });
    expect(String(fatal?.msg)).toMatch(/"second" did not stop in time/);
    // the steps after it in stop order never ran; the one before it did
    expect(p.logs.filter((l) => l.msg === 'service stopped').map((l) => l.service)).toEqual(['third']);
    console.log(`hung stop step: exited ${exit.ms} ms after SIGTERM (grace ${GRACE_MS} + margin ${SHUTDOWN_MARGIN_MS})`);
  });
});
