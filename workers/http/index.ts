// The http domain: job kinds declared without code, run by POSTing to a target (docs/http-kinds.md).
// Its queue is fixed; its kinds come from KINDS_FILE and the runtime store (workers/declared-kinds.ts).
import { defineDomain } from '../../core/domain.ts';
import { httpSection } from './config.ts';
import { httpKinds, httpQueues } from './kinds.ts';

export const httpDomain = defineDomain({
  name: 'http',
  doc: 'docs/http-kinds.md',
  kinds: httpKinds,
  queues: httpQueues,
  config: httpSection,
  handlers: async (deps) => {
    const { createOutbound } = await import('../../core/outbound/index.ts');
    const { httpHandlers } = await import('./handler.ts');
    const out = await createOutbound(deps.config);
    return { handlers: {}, declared: httpHandlers(out), close: async () => out.close() };
  },
});
