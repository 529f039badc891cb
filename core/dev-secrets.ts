// Development secrets (the API key, the dashboard's admin password and session secret, the reports
// signing secret, the embedded PostgreSQL's password): generated once, kept under DATA_DIR with mode
// 0600, and read back by every later process of the same checkout, so `web` and `worker` started side
// by side agree. Never in production: there the real variables are required (core/config/).
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { KernelConfig } from './config/index.ts';

export interface DevSecret {
  value: string;
  file: string;
  /** true when this call generated it */
  created: boolean;
}

export const randomSecret = () => randomBytes(32).toString('base64url');

/** The file's value; '' when it exists but is empty (a write cut short by an older version), undefined when absent. */
function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * `dir/name`, or a new value from `generate` written atomically: to a temp file (0600), then linked into
 * place, which fails when another process got there first (its value wins, and is returned). Where the
 * filesystem has no hard links, and over an empty file, a rename (atomic, last writer wins).
 */
export function readOrCreateSecret(dir: string, name: string, generate: () => string = randomSecret): DevSecret {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`dev secret name "${name}": expects lowercase letters, digits and -`);
  const file = resolve(dir, name);
  const existing = read(file);
  if (existing) return { value: existing, file, created: false };
  mkdirSync(dir, { recursive: true });
  const value = generate();
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${value}\n`, { mode: 0o600 });
  try {
    if (existing === '') renameSync(tmp, file);
    else linkSync(tmp, file);
    return { value, file, created: true };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return { value: read(file) || value, file, created: false };
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    renameSync(tmp, file);
    return { value, file, created: true };
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** A development secret under DATA_DIR; refuses in production, where the real variable is required. */
export function devSecret(
  config: Pick<KernelConfig, 'NODE_ENV' | 'DATA_DIR'>,
  name: string,
  generate: () => string = randomSecret,
): DevSecret {
  if (config.NODE_ENV === 'production') throw new Error(`${name}: no generated secrets in production; set the variable`);
  return readOrCreateSecret(config.DATA_DIR, name, generate);
}
