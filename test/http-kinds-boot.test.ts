// A bad KINDS_FILE stops the real process at boot: exit 78 (config), every bad entry named by its index,
// its name and the field, no stack trace. Web and worker both read the file (docs/http-kinds.md).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeEngines } from './engines.ts';
import { engineEnv } from './helpers.ts';
import { spawnConveyor } from './processes.ts';

function kindsFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'cv-kinds-')), 'kinds.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

async function bootFails(type: string, env: Record<string, string>) {
  const p = spawnConveyor(type, env);
  let stderr = '';
  p.child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const { code } = await p.exited;
  return { code, stderr };
}

describeEngines('KINDS_FILE at boot', { timeout: 60_000 }, (engine) => {
  const file = kindsFile({
    kinds: [
      { name: 'billing.ok', url: 'http://127.0.0.1:9/ok' },
      { name: 'billing.bad', url: 'http://127.0.0.1:9/bad', timeoutMs: 'soon' },
      { name: 'billing.far', url: 'http://10.9.8.7/far' },
    ],
  });
  const env = { ...engineEnv(engine), KINDS_FILE: file, HTTP_TARGET_ALLOWLIST: '127.0.0.1' };

  for (const type of ['web', 'worker']) {
    it(`${type}: exits 78 naming each bad entry and its field`, async () => {
      const { code, stderr } = await bootFails(type, env);
      expect(code).toBe(78);
      expect(stderr).toMatch(/KINDS_FILE: .*kinds\[1\] \(billing\.bad\) kinds\[1\]\.timeoutMs: /);
      expect(stderr).not.toMatch(/billing\.ok/);
      expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
  }

  it('web: a target outside HTTP_TARGET_ALLOWLIST exits 78 naming the entry and url', async () => {
    const only = kindsFile({ kinds: [{ name: 'billing.far', url: 'http://10.9.8.7/far' }] });
    const { code, stderr } = await bootFails('web', { ...env, KINDS_FILE: only });
    expect(code).toBe(78);
    expect(stderr).toMatch(/KINDS_FILE: kinds\[0\] \(billing\.far\) url: is not allowed/);
  });

  it('web: a file that is not JSON exits 78 saying so', async () => {
    const { code, stderr } = await bootFails('web', { ...env, KINDS_FILE: kindsFile('{ "kinds": [') });
    expect(code).toBe(78);
    expect(stderr).toMatch(/KINDS_FILE: cannot read .* as JSON/);
  });
});
