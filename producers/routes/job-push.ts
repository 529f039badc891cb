// Push instead of polling: GET /v1/jobs/:id?wait=<s> (long-poll) and GET /v1/jobs/:id/events (SSE).
// Both subscribe to the job's events through the engine (core/job-watch.ts), so a finished job is answered
// as soon as its final state is written, by any worker. Open ones are bounded per process
// (PUSH_MAX_CONNECTIONS, then 503 + Retry-After) and end when the client goes away.
import type { Request, Response } from 'express';
import { Gauge } from 'prom-client';
import { z } from 'zod';
import type { Engine, JobView } from '../../core/engine.ts';
import { ApiError } from '../../core/http/api-error.ts';
import { err, ref } from '../../core/http/openapi.ts';
import { type AnyRoute, route } from '../../core/http/route.ts';
import { openStream } from '../../core/http/sse.ts';
import { jobChanges, waitUntilFinal } from '../../core/job-watch.ts';
import { processRegistry } from '../../core/metrics/job-metrics.ts';
import type { Config } from '../../workers/config.ts';

export const MAX_WAIT_SECONDS = 60;

export const waitQuery = z.strictObject({
  wait: z
    .string()
    .regex(/^\d+(\.\d+)?$/, { error: `expects seconds, 0 to ${MAX_WAIT_SECONDS}` })
    .transform(Number)
    .pipe(z.number().max(MAX_WAIT_SECONDS, { error: `expects at most ${MAX_WAIT_SECONDS} seconds` }))
    .optional(),
});

export const pushOpen = new Gauge({
  name: 'conveyor_push_open',
  help: 'Long-polls (kind=wait) and event streams (kind=events) of this process that are watching their job',
  labelNames: ['kind'],
  registers: [processRegistry],
});

/** Open long-polls and streams of this process. */
export class PushSlots {
  private open = 0;
  constructor(private readonly max: number) {}

  /** Take a slot or throw 503; the returned function gives it back (once). */
  take(): () => void {
    if (this.open >= this.max) {
      throw new ApiError(503, 'unavailable', `too many open waits and event streams here (${this.max}); retry`, [], {
        'Retry-After': '1',
      });
    }
    this.open++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.open--;
    };
  }
}

/** An AbortSignal that fires when the client closes the connection. */
function clientGone(req: Request, res: Response): AbortSignal {
  const ac = new AbortController();
  res.on('close', () => ac.abort());
  if (req.socket.destroyed) ac.abort();
  return ac.signal;
}

const storeDown = (e: unknown) =>
  new ApiError(503, 'unavailable', `cannot watch the job: ${(e as Error).message}`, [], { 'Retry-After': '5' });

/** The job after waiting up to `seconds` for a final state (the GET route's `?wait=`). */
export async function waitForJob(
  slots: PushSlots,
  req: Request,
  res: Response,
  seconds: number,
  engine: Engine,
  read: () => Promise<JobView>,
): Promise<JobView> {
  const release = slots.take();
  let watching = false;
  const onWatching = () => {
    watching = true;
    pushOpen.inc({ kind: 'wait' });
  };
  try {
    const job = await waitUntilFinal(engine, String(req.params.id), seconds * 1000, read, clientGone(req, res), onWatching).catch(
      (e: unknown) => {
        if (e instanceof ApiError) throw e;
        throw storeDown(e);
      },
    );
    return job as JobView;
  } finally {
    if (watching) pushOpen.dec({ kind: 'wait' });
    release();
  }
}

export function eventsRoute(
  config: Config,
  slots: PushSlots,
  engine: Engine,
  loadJob: (req: Request) => Promise<JobView>,
  present: (j: JobView) => unknown,
): AnyRoute {
  return route({
    method: 'get',
    path: '/v1/jobs/:id/events',
    auth: 'key',
    summary: 'Server-Sent Events of one job: its state now, each state change and progress; ends after a final state',
    description:
      'event `state` (data: the job) first with its state now, then on each change; event `progress` (data: the job) on new progress; ' +
      `a comment every SSE_KEEPALIVE_SECONDS (${config.SSE_KEEPALIVE_SECONDS} s); the stream ends after a final state (completed, failed, dead, cancelled).`,
    params: z.strictObject({ id: z.string() }),
    responses: {
      '200': { description: 'the event stream', contentType: 'text/event-stream', schema: ref('Job') },
      '403': err('the key may not see jobs of this kind'),
      '404': err('no such job'),
      '503': err('too many open streams here, or the store is unavailable; see Retry-After'),
    },
    handle: async (req, res) => {
      await loadJob(req);
      const release = slots.take();
      const signal = clientGone(req, res);
      signal.addEventListener('abort', release, { once: true });
      let changes: AsyncGenerator<{ event: string; job: JobView }>;
      try {
        changes = jobChanges(engine, String(req.params.id), () => loadJob(req), signal);
        // the first item subscribes and reads: a failure here is still an ordinary error response
        const first = await changes.next();
        const stream = openStream(res, config.SSE_KEEPALIVE_SECONDS * 1000);
        pushOpen.inc({ kind: 'events' });
        try {
          if (!first.done) stream.send(first.value.event, present(first.value.job));
          for await (const c of changes) stream.send(c.event, present(c.job));
        } catch (e) {
          stream.send('error', { error: { code: 'unavailable', message: (e as Error).message } });
        } finally {
          pushOpen.dec({ kind: 'events' });
          stream.close();
        }
      } catch (e) {
        if (e instanceof ApiError) throw e;
        throw storeDown(e);
      } finally {
        release();
      }
    },
  });
}
