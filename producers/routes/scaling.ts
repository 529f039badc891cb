// GET /v1/scaling: the scaling signal per process type, for a PaaS autoscaler, HireFire-style poller or
// KEDA's metrics-api scaler. Needs an API key with the `metrics` or `admin` scope.
import type { Request } from 'express';
import { ApiError } from '../../core/http/api-error.ts';
import { err, ok } from '../../core/http/openapi.ts';
import { principalOf } from '../../core/http/principal.ts';
import { type RouteTable, route } from '../../core/http/route.ts';
import { METRICS_SCOPES } from '../../core/metrics/metrics-auth.ts';
import { readScaling } from '../../core/metrics/scaling-reader.ts';
import { catalogView } from '../../workers/catalog.ts';
import type { Config } from '../../workers/config.ts';

export const scalingRoutes: RouteTable<Config> = (deps) => {
  const read = async (req: Request) => {
    const principal = principalOf(req);
    if (!METRICS_SCOPES.some((s) => principal.scopes.has(s))) {
      throw new ApiError(403, 'forbidden', `key "${principal.name}" needs the metrics or admin scope`);
    }
    const { signal } = await readScaling({
      engine: deps.engine,
      throughput: deps.backend.throughput,
      config: deps.config,
      catalog: catalogView,
    });
    return signal;
  };
  return [
    route({
      method: 'get',
      path: '/v1/scaling',
      auth: 'key',
      summary: 'Scaling signal per process type: latency, depth, throughput, recommended replicas',
      responses: { '200': ok('signal'), '403': err('needs the metrics or admin scope') },
      handle: async (req, res) => {
        res.json(await read(req));
      },
    }),
    route({
      method: 'get',
      path: '/v1/scaling/hirefire',
      auth: 'key',
      summary: 'The recommendation per process type as HireFire-style JSON: [{ name, quantity }]',
      description:
        'For a PaaS autoscaler that polls a URL (HireFire’s manager JSON): one item per process type, quantity = recommendedReplicas.',
      responses: {
        '200': ok('per process type', {
          type: 'array',
          items: { type: 'object', properties: { name: { type: 'string' }, quantity: { type: 'integer' } } },
        }),
        '403': err('needs the metrics or admin scope'),
      },
      handle: async (req, res) => {
        const signal = await read(req);
        res.json(Object.entries(signal.processTypes).map(([name, s]) => ({ name, quantity: s.recommendedReplicas })));
      },
    }),
  ];
};
