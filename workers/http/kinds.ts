// The `http` queue. HTTP-target kinds are declared without code (KINDS_FILE, PUT /v1/kinds/:name) and all
// run here; the catalog's typed kinds are none (workers/catalog.ts adds the declared ones at run time).
import type { JobDefinition } from '../../core/kinds.ts';

export const httpQueues = {
  // I/O-bound: a slot mostly waits for the target's answer
  http: { concurrency: 50, declaredKinds: true },
} as const;

export const httpKinds: Record<never, JobDefinition> = {};
