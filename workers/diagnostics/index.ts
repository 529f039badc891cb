// The diagnostics domain: no-side-effect kinds for smoke tests, the benchmark and failure drills.
import { defineDomain } from '../../core/domain.ts';
import { diagnosticsKinds, diagnosticsQueues } from './kinds.ts';

export const diagnosticsDomain = defineDomain({
  name: 'diagnostics',
  doc: 'workers/diagnostics/README.md',
  kinds: diagnosticsKinds,
  queues: diagnosticsQueues,
  handlers: async () => ({ handlers: (await import('./handlers.ts')).handlers, close: async () => {} }),
});
