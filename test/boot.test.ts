// Process boot: a bad setting exits non-zero naming the variable.
import { describe, expect, it } from 'vitest';
import { spawnConveyor } from './processes.ts';

describe('boot', () => {
  it('exits non-zero with a message naming the bad variable', async () => {
    const p = spawnConveyor('web', { PORT: 'eighty', WORKER_SHUTDOWN_GRACE_MS: '-1' });
    let stderr = '';
    p.child.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    const { code } = await p.exited;
    expect(code).toBe(78);
    expect(stderr).toMatch(/PORT: expects a whole number from 0 to 65535 \(got "eighty"\)/);
    expect(stderr).toMatch(/WORKER_SHUTDOWN_GRACE_MS: expects a whole number/);
  });

  it('refuses arguments: each process type is its own entry (processes/<type>.ts)', async () => {
    const p = spawnConveyor('web', {}, ['dancer']);
    expect((await p.exited).code).toBe(2);
  });
});
