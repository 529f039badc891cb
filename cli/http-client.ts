// The CLI's only way to Conveyor: the HTTP API at CONVEYOR_URL with CONVEYOR_API_KEY.
import { readEvents, type ServerEvent } from '../core/http/sse.ts';
import { ApiFailureError } from './api-failure-error.ts';

export interface ApiClient {
  /** `extraMs`: on top of the client's timeout (a long-poll's wait) */
  request<T = unknown>(method: string, path: string, body?: unknown, extraMs?: number, headers?: Record<string, string>): Promise<T>;
  /**
   * POST that creates something, with `key` as its Idempotency-Key: sent again (same key, so never twice
   * stored) when answered 503 or not at all, up to `retries` times (after 0.2 s, doubling, ≤ 5 s).
   */
  create<T = unknown>(path: string, body: unknown, key: string, retries?: number): Promise<T>;
  /** the Server-Sent Events of `path` for up to `ms` (then it simply ends) */
  events(path: string, ms: number): AsyncGenerator<ServerEvent>;
}

export function createClient(baseUrl: string, apiKey: string | undefined, timeoutMs = 30_000): ApiClient {
  const base = baseUrl.replace(/\/+$/, '');
  const headersFor = (accept: string) => {
    const headers: Record<string, string> = { accept, 'user-agent': 'conveyor-cli' };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    return headers;
  };
  const unreachable = (err: unknown) => {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return new ApiFailureError(0, {
      error: {
        code: 'unreachable',
        message: `cannot reach ${base} (${cause?.code ?? cause?.message ?? (err as Error).message})`,
        details: [{ path: 'CONVEYOR_URL', message: 'is the web process running at this URL?' }],
      },
    });
  };
  return {
    async *events(path: string, ms: number) {
      const signal = AbortSignal.timeout(ms);
      try {
        const res = await fetch(base + path, { headers: headersFor('text/event-stream'), signal }).catch((err) => {
          throw signal.aborted ? err : unreachable(err);
        });
        if (!res.ok || !res.body) throw await failure(res, 'GET', path);
        yield* readEvents(res.body);
      } catch (err) {
        if (!signal.aborted) throw err;
      }
    },
    async create<T>(path: string, body: unknown, key: string, retries = 3): Promise<T> {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.request<T>('POST', path, body, 0, { 'idempotency-key': key });
        } catch (err) {
          const status = err instanceof ApiFailureError ? err.status : -1;
          if (attempt >= retries || (status !== 503 && status !== 0)) throw err;
          await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * 2 ** attempt)));
        }
      }
    },
    async request<T>(method: string, path: string, body?: unknown, extraMs = 0, extra: Record<string, string> = {}): Promise<T> {
      const headers = { ...headersFor('application/json'), ...extra };
      if (body !== undefined) headers['content-type'] = 'application/json';
      let res: Response;
      try {
        res = await fetch(base + path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs + extraMs),
        });
      } catch (err) {
        throw unreachable(err);
      }
      if (!res.ok) throw await failure(res, method, path);
      const text = await res.text();
      return (text ? parseJson(text) : null) as T;
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The API's error body as an ApiFailureError (or one naming the status when the body is not ours). */
async function failure(res: Response, method: string, path: string): Promise<ApiFailureError> {
  const text = await res.text();
  const b = parseJson(text) as { error?: { code?: unknown } } | null;
  if (b?.error && typeof b.error.code === 'string') return new ApiFailureError(res.status, b as ApiFailureError['body']);
  return new ApiFailureError(res.status, {
    error: { code: `http_${res.status}`, message: `${method} ${path} answered ${res.status} ${res.statusText}: ${text.slice(0, 200)}` },
  });
}
