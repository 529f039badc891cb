// GET /healthz (the process answers) and GET /readyz (ready: the queue store answers; every configured
// dependency is reported in `checks` and in conveyor_dependency_up, without failing it).

import { type RouteTable, route } from '../../core/http/route.ts';
import { runReadiness } from '../../core/readiness.ts';
import type { Config } from '../../workers/config.ts';
import { readinessChecks } from '../../workers/domains.ts';

export const healthRoutes: RouteTable<Config> = ({ config, backend }) => [
  route({
    method: 'get',
    path: '/healthz',
    auth: 'public',
    summary: 'Liveness',
    responses: { '200': { description: 'alive', schema: { type: 'object' } } },
    handle: (_req, res) => {
      res.json({ status: 'ok' });
    },
  }),
  route({
    method: 'get',
    path: '/readyz',
    auth: 'public',
    summary: 'Readiness: the queue store answers (every other configured dependency is reported in checks, without failing it)',
    responses: {
      '200': {
        description: 'ready: the queue store answers; checks names every dependency and whether it is up',
        schema: { type: 'object' },
      },
      '503': { description: 'the queue store is down', schema: { type: 'object' } },
    },
    handle: async (_req, res) => {
      const { ready, checks } = await runReadiness({ config, backend }, await readinessChecks());
      res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks });
    },
  }),
];
