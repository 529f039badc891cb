// The platform's public base URL, for links sent out of it (report downloads, the dead-letter digest's
// dashboard link): REPORTS_PUBLIC_URL (a server setting, core/config/server.ts), else this web process on
// localhost.
import type { KernelConfig } from '../config/index.ts';

export function publicBaseUrl(config: Pick<KernelConfig, 'REPORTS_PUBLIC_URL' | 'PORT'>): string {
  return config.REPORTS_PUBLIC_URL ?? `http://127.0.0.1:${config.PORT}`;
}
