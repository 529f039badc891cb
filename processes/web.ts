// Procfile `web`: the HTTP API (producers/) and the dashboard (/admin).
// Services load after the arguments and the config are checked, so a bad setting fails fast.
import { runEntry } from './run.ts';

runEntry('web', async (ctx) => {
  const [{ startBackend }, { startWeb }] = await Promise.all([import('./services/backend.ts'), import('./services/web.ts')]);
  await startWeb(ctx, await startBackend(ctx));
});
