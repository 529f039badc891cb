// Operations: metrics, tracing, the scaling signal and the worker autoscaler (docs/operations.md).
import { z } from 'zod';
import { httpUrl, int } from './fields.ts';
import { defineSection } from './section.ts';

/** `min:max` replica bounds, e.g. `1:4` (docs/operations.md). */
const minMax = z
  .string()
  .regex(/^\d{1,3}:\d{1,3}$/, { error: 'expects min:max, e.g. 1:4' })
  .transform((raw) => {
    const [min, max] = raw.split(':').map(Number) as [number, number];
    return { min, max };
  })
  .refine((r) => r.max >= 1 && r.min <= r.max, { error: 'expects 0 <= min <= max and max >= 1' });

export const operationsSection = defineSection('operations', {
  METRICS_TOKEN: z.string().min(16, { error: 'expects at least 16 characters' }).optional(),
  WORKER_METRICS_PORT: int(0, 65535).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('conveyor'),
  SCALING_TARGET_LATENCY_SECONDS: int(1, 86_400).default(10),
  SCALING_WINDOW_SECONDS: int(10, 3600).default(60),
  SCALING_WORKER_REPLICAS: minMax.default({ min: 1, max: 10 }),
  WORKER_AUTOSCALE: minMax.optional(),
  WORKER_AUTOSCALE_INTERVAL_MS: int(100, 600_000).default(5_000),
  WORKER_AUTOSCALE_UP_COOLDOWN_MS: int(0, 3_600_000).default(15_000),
  WORKER_AUTOSCALE_DOWN_COOLDOWN_MS: int(0, 3_600_000).default(120_000),
  /** how long audit entries are kept (core/audit.ts) */
  AUDIT_RETENTION_DAYS: int(1, 3650).default(90),
});
