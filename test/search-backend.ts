// Where the search tests send their requests: the ES stand-in (default) or a real cluster when
// ELASTICSEARCH_URL is set. Each test gets its own index prefix and removes its indices and templates.
import { randomBytes } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import pg from 'pg';
import { onTestFinished } from 'vitest';
import { type EsStandin, startEsStandin } from './es-standin/server.ts';

export interface SearchBackend {
  kind: 'stand-in' | 'real cluster';
  url: string;
  /** only on the stand-in: fault injection and request counts */
  standin?: EsStandin;
  close(): Promise<void>;
}

export async function startSearchBackend(): Promise<SearchBackend> {
  const real = process.env.ELASTICSEARCH_URL;
  if (real) {
    console.log(`search tests: running against a REAL cluster at ${new URL(real).host} (ELASTICSEARCH_URL)`);
    return { kind: 'real cluster', url: real, close: async () => {} };
  }
  const standin = await startEsStandin();
  console.log(
    `search tests: running against the ES stand-in (test/es-standin/server.ts) at ${standin.url}; set ELASTICSEARCH_URL to use a real cluster`,
  );
  return { kind: 'stand-in', url: standin.url, standin, close: () => standin.close() };
}

/** Settings for one test: its own index prefix on the backend. Registers cleanup of that prefix. */
export function searchEnv(backend: SearchBackend, extra: Record<string, string> = {}): Record<string, string> {
  const prefix = `cvt-${randomBytes(4).toString('hex')}`;
  onTestFinished(async () => {
    const client = new Client({
      node: backend.url,
      auth: process.env.ELASTICSEARCH_API_KEY ? { apiKey: process.env.ELASTICSEARCH_API_KEY } : undefined,
    });
    try {
      const names = Object.keys(await client.indices.get({ index: `${prefix}-*` }));
      if (names.length) await client.indices.delete({ index: names.join(',') }, { ignore: [404] });
      const tpl = await client.indices.getIndexTemplate({ name: `${prefix}-*` }, { ignore: [404] });
      for (const t of (tpl as { index_templates?: { name: string }[] }).index_templates ?? []) {
        await client.indices.deleteIndexTemplate({ name: t.name }, { ignore: [404] });
      }
    } finally {
      await client.close();
    }
  });
  return {
    ELASTICSEARCH_URL: backend.url,
    SEARCH_INDEX_PREFIX: prefix,
    SEARCH_BULK_MAX_ITEMS: '50',
    SEARCH_BULK_WAIT_MS: '50',
    SEARCH_TARGETS_TTL_MS: '100',
    SEARCH_REINDEX_SETTLE_MS: '300',
    ...extra,
  };
}

export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A Postgres schema of its own holding `search_products` (the products source); dropped after the test. */
export async function sourceSchema(): Promise<{ url: string; db: pg.Client }> {
  const schema = `cvt_search_${randomBytes(4).toString('hex')}`;
  const db = new pg.Client({ connectionString: PG_URL });
  await db.connect();
  await db.query(`CREATE SCHEMA ${schema}`);
  await db.query(`CREATE TABLE ${schema}.search_products (id text PRIMARY KEY, version bigint NOT NULL, document jsonb NOT NULL)`);
  await db.query(`SET search_path TO ${schema}`);
  onTestFinished(async () => {
    await db.query('ROLLBACK').catch(() => {});
    await db.query(`DROP SCHEMA ${schema} CASCADE`);
    await db.end();
  });
  return { url: `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, db };
}
