// Handlers for the diagnostics.* kinds: no side effects, used by smoke tests and the benchmark.
import { setTimeout as sleep } from 'node:timers/promises';
import { PermanentError } from '../../core/errors/index.ts';
import type { Payload } from '../catalog.ts';
import type { HandlerContext } from '../runtime.ts';

export async function noop(_payload: Payload<'diagnostics.noop'>, _ctx: HandlerContext) {
  return null;
}

export async function sleepJob(payload: Payload<'diagnostics.sleep'>, ctx: HandlerContext) {
  await ctx.progress(0);
  await sleep(payload.ms, undefined, { signal: ctx.signal });
  if (payload.fail === 'permanent') throw new PermanentError(`told to fail permanently (${payload.tag ?? 'no tag'})`);
  if (payload.fail === 'transient' && ctx.attempt <= payload.failAttempts) {
    throw new Error(`told to fail attempt ${ctx.attempt} of the first ${payload.failAttempts}`);
  }
  await ctx.progress(100);
  return { sleptMs: payload.ms, attempt: ctx.attempt, tag: payload.tag ?? null, pid: process.pid };
}
