// Development secrets (core/dev-secrets.ts): created once under DATA_DIR with mode 0600, read back
// afterwards, the same value for processes that race to create it, and never in production.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { devSecret, readOrCreateSecret } from '../core/dev-secrets.ts';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'cvt-dev-secrets-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('development secrets', () => {
  it('creates the secret once (0600, in a directory it makes) and reads it back afterwards', () => {
    const dir = join(tempDir(), 'data');
    const first = devSecret({ NODE_ENV: 'development', DATA_DIR: dir }, 'some-secret');
    expect(first.created).toBe(true);
    expect(first.value).toMatch(/^[\w-]{43}$/);
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    expect(readFileSync(first.file, 'utf8')).toBe(`${first.value}\n`);
    const again = devSecret({ NODE_ENV: 'test', DATA_DIR: dir }, 'some-secret', () => 'never used');
    expect(again).toEqual({ value: first.value, file: first.file, created: false });
  });

  it('replaces an empty file (a write cut short) and refuses in production', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'cut-short'), '');
    expect(readOrCreateSecret(dir, 'cut-short', () => 'fresh')).toMatchObject({ value: 'fresh', created: true });
    expect(() => devSecret({ NODE_ENV: 'production', DATA_DIR: dir }, 'cut-short')).toThrow(/no generated secrets in production/);
    expect(() => readOrCreateSecret(dir, '../escape')).toThrow(/expects lowercase letters/);
  });

  it('processes racing to create it all end up with the one value on disk', async () => {
    const dir = tempDir();
    const script = `import { readOrCreateSecret } from './core/dev-secrets.ts'; console.log(readOrCreateSecret(${JSON.stringify(dir)}, 'raced').value);`;
    const run = () =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: join(import.meta.dirname, '..'),
      });
    const outs = await Promise.all(Array.from({ length: 6 }, run));
    const values = new Set(outs.map((o) => o.stdout.trim()));
    expect(values.size).toBe(1);
    expect([...values][0]).toBe(readFileSync(join(dir, 'raced'), 'utf8').trim());
  });
});
