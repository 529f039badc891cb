// OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (then the SDK and the OTLP/HTTP
// exporter are imported; otherwise only @opentelemetry/api is loaded and every span is a no-op).
// Spans follow the messaging semantic conventions:
//   HTTP request (SERVER) → `create <queue>` (PRODUCER, one per job) → its context travels inside the job
//   as JobMeta.traceparent → `process <queue>` (CONSUMER) in the worker: child of and linked to the
//   producer span, so the worker's span sits in the trace of the HTTP request that enqueued it.
import {
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import type { NextFunction, Request, Response } from 'express';
import type { KernelConfig } from './config/index.ts';
import type { JobMeta } from './engine.ts';
import type { RuntimeHooks } from './handler.ts';

let enabled = false;
let messagingSystem = 'bullmq';
const tracer = () => trace.getTracer('conveyor');

export interface Tracing {
  shutdown(): Promise<void>;
}

/**
 * Start tracing for this process when OTEL_EXPORTER_OTLP_ENDPOINT is set (or when a test hands in an
 * exporter). The OTLP exporter reads the standard OTEL_EXPORTER_OTLP_* variables (headers, timeout).
 */
export async function startTracing(
  config: Pick<KernelConfig, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_SERVICE_NAME' | 'QUEUE_ENGINE'>,
  processType: string,
  testExporter?: SpanExporter,
): Promise<Tracing> {
  if (!testExporter && !config.OTEL_EXPORTER_OTLP_ENDPOINT) return { shutdown: async () => {} };
  const { NodeTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-node');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  let exporter = testExporter;
  if (!exporter) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    // the exporter reads OTEL_EXPORTER_OTLP_ENDPOINT itself and appends /v1/traces
    exporter = new OTLPTraceExporter();
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.OTEL_SERVICE_NAME, 'conveyor.process_type': processType }),
    spanProcessors: [testExporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
  });
  provider.register(); // global tracer provider, AsyncLocalStorage context, W3C trace-context propagator
  enabled = true;
  messagingSystem = config.QUEUE_ENGINE;
  return {
    shutdown: async () => {
      enabled = false;
      await provider.shutdown().catch(() => {});
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

export const tracingEnabled = () => enabled;

/** The producer side: a `create <queue>` span per job; its context goes into the job's meta. */
export function withTraceContext(meta: JobMeta, queue: string, kind: string): JobMeta {
  if (!enabled) return meta;
  const span = tracer().startSpan(`create ${queue}`, {
    kind: SpanKind.PRODUCER,
    attributes: {
      'messaging.system': messagingSystem,
      'messaging.operation.type': 'create',
      'messaging.operation.name': 'create',
      'messaging.destination.name': queue,
      'conveyor.job.kind': kind,
    },
  });
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  span.end();
  return carrier.traceparent ? { ...meta, traceparent: carrier.traceparent } : meta;
}

/**
 * The consumer side: a `process <queue>` span around each run, child of and linked to the producer span.
 * No hook at all (nothing on the hot path) while tracing is off.
 */
export function tracingHooks(): RuntimeHooks {
  if (!enabled) return {};
  return {
    around: async (job, run) => {
      if (!enabled) return run();
      const parent = job.meta.traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent: job.meta.traceparent }) : ROOT_CONTEXT;
      const producer = trace.getSpanContext(parent);
      const links: Link[] = producer ? [{ context: producer }] : [];
      const span = tracer().startSpan(
        `process ${job.queue}`,
        {
          kind: SpanKind.CONSUMER,
          links,
          attributes: {
            'messaging.system': messagingSystem,
            'messaging.operation.type': 'process',
            'messaging.operation.name': 'process',
            'messaging.destination.name': job.queue,
            'messaging.message.id': job.id,
            'conveyor.job.kind': job.name,
            'conveyor.job.attempt': job.attempt,
          },
        },
        parent,
      );
      try {
        return await context.with(trace.setSpan(parent, span), run);
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    },
  };
}

/** The HTTP side: a SERVER span per request (continuing an incoming `traceparent`), named by route pattern. */
export function httpSpanStart(req: Request, res: Response, next: NextFunction, routeOf: (req: Request) => string) {
  if (!enabled) return next();
  const parent: Context = propagation.extract(context.active(), req.headers);
  const span: Span = tracer().startSpan(
    req.method,
    {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': req.method, 'url.path': req.path, 'conveyor.request_id': req.requestId },
    },
    parent,
  );
  res.once('finish', () => {
    const route = routeOf(req);
    span.updateName(`${req.method} ${route}`);
    span.setAttributes({ 'http.route': route, 'http.response.status_code': res.statusCode });
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  context.with(trace.setSpan(parent, span), next);
}
