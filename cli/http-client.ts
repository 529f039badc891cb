// The CLI's only way to Conveyor: the HTTP API at CONVEYOR_URL with CONVEYOR_API_KEY.
import { ApiFailureError } from './api-failure-error.ts';

export interface ApiClient {
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

export function createClient(baseUrl: string, apiKey: string | undefined, timeoutMs = 30_000): ApiClient {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'conveyor-cli' };
      if (apiKey) headers.authorization = `Bearer ${apiKey}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      let res: Response;
      try {
        res = await fetch(base + path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new ApiFailureError(0, {
          error: {
            code: 'unreachable',
            message: `cannot reach ${base} (${cause?.code ?? cause?.message ?? (err as Error).message})`,
            details: [{ path: 'CONVEYOR_URL', message: 'is the web process running at this URL?' }],
          },
        });
      }
      const text = await res.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      if (!res.ok) {
        const b = parsed as { error?: { code?: unknown } } | null;
        if (b?.error && typeof b.error.code === 'string') throw new ApiFailureError(res.status, b as ApiFailureError['body']);
        throw new ApiFailureError(res.status, {
          error: {
            code: `http_${res.status}`,
            message: `${method} ${path} answered ${res.status} ${res.statusText}: ${text.slice(0, 200)}`,
          },
        });
      }
      return parsed as T;
    },
  };
}
