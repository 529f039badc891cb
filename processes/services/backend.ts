// What every process type stands on: the development stores it needs, tracing, and the backend (the
// engine and its side stores, core/backend.ts), and the kinds declared without code (workers/declared-kinds.ts).
import type { Backend } from '../../core/backend.ts';
import { createBackend } from '../../core/engines/factory.ts';
import { resource } from '../../core/lifecycle.ts';
import { startTracing } from '../../core/tracing.ts';
import { type QueueDefinition, queueNames, queues } from '../../workers/catalog.ts';
import type { Config } from '../../workers/config.ts';
import { startDeclaredKinds } from '../../workers/declared-kinds.ts';
import type { EntryContext } from '../run.ts';
import { startDevStores } from './dev-stores.ts';

export interface ProcessBackend {
  /** the process's config, with the embedded PostgreSQL's URL when `npm start` runs one */
  config: Config;
  backend: Backend;
}

export async function startBackend(ctx: EntryContext): Promise<ProcessBackend> {
  const config = await startDevStores(ctx);
  const { life, logger, type } = ctx;
  // no-op unless OTEL_EXPORTER_OTLP_ENDPOINT is set; stops after the backend, so the last spans are sent
  await life.start(
    resource(
      'tracing',
      () => startTracing(config, type),
      (t) => t.shutdown(),
    ),
  );
  const backend = await life.start(
    resource(
      'backend',
      async () =>
        createBackend(config, logger, {
          queues: queueNames,
          groupCatalog: (q) => (queues[q as keyof typeof queues] as QueueDefinition | undefined)?.groups,
        }),
      (b) => b.close(),
    ),
  );
  // kinds declared without code (KINDS_FILE, PUT /v1/kinds), kept current from the store
  await life.start(
    resource(
      'declared kinds',
      () => startDeclaredKinds({ config, backend: backend.value, logger }),
      async (k) => k.close(),
    ),
  );
  return { config, backend: backend.value };
}
