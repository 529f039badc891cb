// GET /v1/scaling: the scaling signal per process type, for a PaaS autoscaler, HireFire-style poller or
// KEDA's metrics-api scaler. Needs an API key with the `metrics` or `admin` scope.
import { ApiError } from '../../core/http/api-error.ts';
import { METRICS_SCOPES } from '../../core/metrics/metrics-auth.ts';
import { readScaling } from '../../core/metrics/scaling-reader.ts';
import { principalOf } from '../auth.ts';
import type { RouteModule } from './index.ts';

export const scalingRoutes: RouteModule = (api, deps) => {
  api.get('/scaling', async (req, res) => {
    const principal = principalOf(req);
    if (!METRICS_SCOPES.some((s) => principal.scopes.has(s))) {
      throw new ApiError(403, 'forbidden', `key "${principal.name}" needs the metrics or admin scope`);
    }
    const { signal } = await readScaling({ engine: deps.engine, throughput: deps.backend.throughput, config: deps.config });
    res.json(signal);
  });
};
