// The domain list (workers/domains.ts): every folder under workers/ with a manifest is listed once, under
// its folder's name, with its doc; the catalog is assembled from the list in its order.
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalog, queueNames } from '../workers/catalog.ts';
import { declaredSchedules, domains, queueRateLimits } from '../workers/domains.ts';
import { testConfig } from './helpers.ts';

const root = resolve(import.meta.dirname, '..');

describe('domain list', () => {
  it('lists every workers/<domain>/index.ts once, named after its folder, with its doc', () => {
    const folders = readdirSync(resolve(root, 'workers'), { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(resolve(root, 'workers', e.name, 'index.ts')))
      .map((e) => e.name);
    expect(domains.map((d) => d.name).sort()).toEqual(folders.sort());
    for (const d of domains) expect(existsSync(resolve(root, d.doc)), `${d.name}: ${d.doc}`).toBe(true);
  });

  it('assembles the catalog from the manifests, in list order', () => {
    expect(queueNames).toEqual(domains.flatMap((d) => Object.keys(d.queues)));
    expect(Object.keys(catalog)).toEqual(domains.flatMap((d) => Object.keys(d.kinds)));
    for (const d of domains) for (const def of Object.values(d.kinds)) expect(Object.keys(d.queues)).toContain(def.queue);
  });

  it('derives schedules and rate limits from config', () => {
    const config = testConfig({ EMAIL_RATE_PER_SECOND: '3' });
    expect(queueRateLimits(config)).toEqual({ email: { max: 3, durationMs: 1000 } });
    // without its database the demo report is still declared (SCHEDULES_DISABLED may name it), but unavailable
    const declared = declaredSchedules(config);
    expect(declared.map((s) => s.name)).toEqual(['dead-letter-digest', 'retention-cleanup', 'demo-report']);
    expect(declared.filter((s) => s.unavailable).map((s) => [s.name, s.unavailable])).toEqual([
      ['demo-report', 'REPORTS_DATABASE_URL is not set'],
    ]);
    const withReports = testConfig({ REPORTS_DATABASE_URL: 'postgres://127.0.0.1/x' });
    expect(declaredSchedules(withReports).find((s) => s.name === 'demo-report')?.unavailable).toBeUndefined();
  });
});
