// The README's config table documents every variable the config schema reads, and nothing else.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../workers/config.ts';

describe('README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const table = readme.slice(readme.indexOf('<!-- config-table:start -->'), readme.indexOf('<!-- config-table:end -->'));
  const documented = [...table.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);

  it('documents every config variable', () => {
    const missing = Object.keys(configSchema.shape).filter((k) => !documented.includes(k));
    expect(missing).toEqual([]);
  });
  it('documents no variable the config does not read', () => {
    const extra = documented.filter((k) => !Object.hasOwn(configSchema.shape, k as string));
    expect(extra).toEqual([]);
  });
  it('opens with exactly the two commands: run and test', () => {
    const firstBlock = readme.match(/```sh\n([\s\S]*?)```/)?.[1] ?? '';
    const commands = firstBlock.split('\n').filter((l) => l.trim());
    expect(commands).toHaveLength(2);
    expect(commands[0]).toMatch(/^npm ci && npm start\b/);
    expect(commands[1]).toMatch(/^npm ci && npm test\b/);
  });
});
