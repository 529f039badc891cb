// OpenTelemetry: an HTTP request that enqueues a job and the worker run of that job end up in one
// trace (server span → producer span → consumer span, with a link to the producer), captured by the
// SDK's in-memory exporter. The SDK is started in-process exactly as the entries do (processes/services/backend.ts), minus the OTLP exporter.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startWorkerInstrumentation } from '../core/metrics/worker-server.ts';
import { startTracing, type Tracing, tracingEnabled } from '../core/tracing.ts';
import { toEnqueueRequest } from '../producers/enqueue.ts';
import { catalogView } from '../workers/catalog.ts';
import { handlers } from '../workers/diagnostics/handlers.ts';
import { startWorkers } from '../workers/runtime.ts';
import { describeEngines } from './engines.ts';
import { engineEnv, quietLogger, setup, testConfig, waitFor } from './helpers.ts';

describe('tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('loads no SDK and puts no trace context into jobs', async () => {
    const tracing = await startTracing(testConfig(), 'web');
    expect(tracingEnabled()).toBe(false);
    const req = toEnqueueRequest({ name: 'diagnostics.noop', data: {}, options: {} }, testConfig(), { requestId: 'r1' });
    expect(req.meta).toEqual({ requestId: 'r1' });
    await tracing.shutdown();
  });
});

/** In a fresh Node process: which @opentelemetry packages does startTracing load? */
function packagesLoaded(endpoint: string | undefined) {
  const script = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({ resolve(s, c, next) { const r = next(s, c); const m = r.url.match(/node_modules\\/(@opentelemetry\\/[^/]+)/); if (m) seen.add(m[1]); return r; } });
    const { startTracing } = await import(${JSON.stringify(join(import.meta.dirname, '..', 'core', 'tracing.ts'))});
    const t = await startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: process.env.EP || undefined, OTEL_SERVICE_NAME: 'probe', QUEUE_ENGINE: 'bullmq' }, 'web');
    await t.shutdown();
    console.log(JSON.stringify([...seen].sort()));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: join(import.meta.dirname, '..'),
    env: { ...process.env, EP: endpoint ?? '' },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1) as string) as string[];
}

describe('tracing packages', () => {
  it('loads only @opentelemetry/api without an endpoint, and the SDK and OTLP exporter with one', { timeout: 30_000 }, () => {
    expect(packagesLoaded(undefined)).toEqual(['@opentelemetry/api']);
    const on = packagesLoaded('http://127.0.0.1:4318');
    expect(on).toContain('@opentelemetry/sdk-trace-node');
    expect(on).toContain('@opentelemetry/exporter-trace-otlp-http');
  });
});

describeEngines('tracing on', (engine) => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  beforeAll(async () => {
    tracing = await startTracing(testConfig(engineEnv(engine)), 'all', exporter);
  });
  afterAll(async () => {
    await tracing.shutdown();
  });

  it('links the worker span to the HTTP request that enqueued the job', async () => {
    const t = await setup({ engine });
    const inst = await startWorkerInstrumentation({
      config: t.config,
      logger: quietLogger,
      backend: t.backend,
      apiKeys: [],
      catalog: catalogView,
    });
    const rt = startWorkers({ engine: t.engine, logger: quietLogger, handlers, queues: { default: 2 }, hooks: inst.hooks });
    onTestFinished(async () => {
      await rt.close(2_000);
      await inst.close();
    });
    // the caller's own trace continues through us
    const callerTrace = '0af7651916cd43dd8448eb211c80319c';
    const res = await t.api(
      'POST',
      '/v1/jobs',
      { name: 'diagnostics.noop' },
      { headers: { traceparent: `00-${callerTrace}-b7ad6b7169203331-01` } },
    );
    expect(res.status).toBe(202);
    const jobId = res.body.id as string;
    const spans = await waitFor(
      () => {
        const all = exporter.getFinishedSpans();
        const consumer = all.find((s) => s.kind === SpanKind.CONSUMER && s.attributes['messaging.message.id'] === jobId);
        const server = all.find((s) => s.kind === SpanKind.SERVER && s.name === 'POST /v1/jobs');
        return consumer && server && { all, consumer, server };
      },
      { timeoutMs: 20_000, what: 'server and consumer spans' },
    );
    const { consumer, server } = spans;
    const producer = spans.all.find((s) => s.kind === SpanKind.PRODUCER && s.spanContext().traceId === callerTrace);
    expect(producer?.name).toBe('create default');
    expect(producer?.attributes).toMatchObject({
      'messaging.system': engine,
      'messaging.operation.type': 'create',
      'messaging.destination.name': 'default',
    });
    // server span continues the caller's trace; producer is its child; consumer is the producer's child and links to it
    // (the producer's context reached the worker inside the job's stored meta: the worker runs outside the request)
    expect(server.spanContext().traceId).toBe(callerTrace);
    expect(server.attributes['http.route']).toBe('/v1/jobs');
    expect(server.attributes['http.response.status_code']).toBe(202);
    expect(producer?.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(consumer.name).toBe('process default');
    expect(consumer.spanContext().traceId).toBe(callerTrace);
    expect(consumer.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
    expect(consumer.links.map((l) => l.context.spanId)).toEqual([producer?.spanContext().spanId]);
    expect(consumer.attributes).toMatchObject({
      'messaging.system': engine,
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'default',
      'messaging.message.id': jobId,
      'conveyor.job.kind': 'diagnostics.noop',
      'conveyor.job.attempt': 1,
    });
  });

  it('marks a failed run’s span as an error', async () => {
    const t = await setup({ engine });
    const inst = await startWorkerInstrumentation({
      config: t.config,
      logger: quietLogger,
      backend: t.backend,
      apiKeys: [],
      catalog: catalogView,
    });
    const rt = startWorkers({ engine: t.engine, logger: quietLogger, handlers, queues: { default: 2 }, hooks: inst.hooks });
    onTestFinished(async () => {
      await rt.close(2_000);
      await inst.close();
    });
    const res = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 1, fail: 'permanent', tag: 'span-error' } });
    const span = await waitFor(
      () => exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CONSUMER && s.attributes['messaging.message.id'] === res.body.id),
      { timeoutMs: 20_000, what: 'consumer span' },
    );
    expect(span.status.code).toBe(2); // ERROR
    expect(span.events.some((e) => e.name === 'exception')).toBe(true);
  });
});
