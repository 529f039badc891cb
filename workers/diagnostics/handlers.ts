// Handlers for the diagnostics.* kinds: no side effects, used by smoke tests and the benchmark.
import { setTimeout as sleep } from 'node:timers/promises';
import { PermanentError } from '../../core/errors/index.ts';
import type { HandlerContext, HandlersFor } from '../../core/handler.ts';
import type { PayloadOf } from '../../core/kinds.ts';
import type { diagnosticsKinds } from './kinds.ts';

type Kinds = typeof diagnosticsKinds;

export async function noop(_payload: PayloadOf<Kinds['diagnostics.noop']>, _ctx: HandlerContext) {
  return null;
}

export async function sleepJob(payload: PayloadOf<Kinds['diagnostics.sleep']>, ctx: HandlerContext) {
  const startedMs = Date.now();
  await ctx.progress(0);
  await sleep(payload.ms, undefined, { signal: ctx.signal });
  if (payload.fail === 'permanent') throw new PermanentError(`told to fail permanently (${payload.tag ?? 'no tag'})`);
  if (payload.fail === 'transient' && ctx.attempt <= payload.failAttempts) {
    throw new Error(`told to fail attempt ${ctx.attempt} of the first ${payload.failAttempts}`);
  }
  await ctx.progress(100);
  // startedMs / endedMs: when the handler itself ran (tests check overlaps of runs across processes)
  return { sleptMs: payload.ms, attempt: ctx.attempt, tag: payload.tag ?? null, pid: process.pid, startedMs, endedMs: Date.now() };
}

/** They need nothing from the process: tests use them as the default handlers. */
export const handlers: HandlersFor<Kinds> = { 'diagnostics.noop': noop, 'diagnostics.sleep': sleepJob };
