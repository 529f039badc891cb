// Procfile `web`: the HTTP API (producers/) and the dashboard (/admin).
import { runEntry } from './run.ts';
import { startBackend } from './services/backend.ts';
import { startWeb } from './services/web.ts';

runEntry('web', async (ctx) => {
  await startWeb(ctx, await startBackend(ctx));
});
