// Dashboard users for tests: one per role, hashed once per test file, as a setup() override.
import { hashPassword } from '../dashboard/password.ts';

export const PASSWORDS = { viewer: 'viewer-pass-1', operator: 'operator-pass-1', admin: 'admin-pass-1' } as const;
export type TestRole = keyof typeof PASSWORDS;

let users: Promise<string> | undefined;

/** `{ DASHBOARD_USERS: … }` with users `viewer`, `operator`, `admin`, passwords in PASSWORDS. */
export async function dashboardOverrides(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  users ??= Promise.all(
    (Object.keys(PASSWORDS) as TestRole[]).map(async (role) => ({ user: role, hash: await hashPassword(PASSWORDS[role]), role })),
  ).then((list) => JSON.stringify(list));
  return { DASHBOARD_USERS: await users, ...extra };
}

/** A tiny cookie-keeping HTTP client for the dashboard (no browser). */
export class DashboardClient {
  readonly cookies = new Map<string, string>();
  constructor(readonly baseUrl: string) {}

  async request(
    method: string,
    path: string,
    opts: { form?: Record<string, string>; json?: unknown; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { ...opts.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (opts.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(opts.form).toString();
    } else if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    const res = await fetch(this.baseUrl + path, { method, headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [k, ...v] = (pair as string).split('=');
      const value = v.join('=');
      if (/expires=Thu, 01 Jan 1970/i.test(c) || value === '') this.cookies.delete(k as string);
      else this.cookies.set(k as string, value);
    }
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, location: res.headers.get('location') };
  }

  get csrf() {
    return decodeURIComponent(this.cookies.get('XSRF-TOKEN') ?? '');
  }

  async login(user: string, password: string) {
    const page = await this.request('GET', '/admin/login');
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
    return this.request('POST', '/admin/login', { form: { _csrf: token, next: '/admin', user, password } });
  }
}
