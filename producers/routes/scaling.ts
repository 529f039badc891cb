// GET /v1/scaling: the scaling signal per process type, for a PaaS autoscaler, HireFire-style poller or
// KEDA's metrics-api scaler. Needs an API key with the `metrics` or `admin` scope.
import { ApiError } from '../../core/http/api-error.ts';
import { err, ok } from '../../core/http/openapi.ts';
import { principalOf } from '../../core/http/principal.ts';
import { type RouteTable, route } from '../../core/http/route.ts';
import { METRICS_SCOPES } from '../../core/metrics/metrics-auth.ts';
import { readScaling } from '../../core/metrics/scaling-reader.ts';
import { catalogView } from '../../workers/catalog.ts';
import type { Config } from '../../workers/config.ts';

export const scalingRoutes: RouteTable<Config> = (deps) => [
  route({
    method: 'get',
    path: '/v1/scaling',
    auth: 'key',
    summary: 'Scaling signal per process type: latency, depth, throughput, recommended replicas',
    responses: { '200': ok('signal'), '403': err('needs the metrics or admin scope') },
    handle: async (req, res) => {
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
      res.json(signal);
    },
  }),
];
