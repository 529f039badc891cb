// STAND-IN, NOT ELASTICSEARCH. An in-memory HTTP server that speaks the slice of the Elasticsearch REST
// wire protocol our indexer uses, so the search tests and benchmark run on machines where Elasticsearch
// cannot. The same tests run against a real cluster when ELASTICSEARCH_URL is set (workers/search/README.md).
//
// Implemented: GET|HEAD / · index create / exists / get / delete · PUT|GET _settings · index templates
// (PUT|GET|HEAD|DELETE /_index_template/{name}, applied on create and auto-create) · POST /_aliases
// (add / remove / remove_index, atomic) · GET|HEAD /_alias/{name} · _bulk (index, create, delete) with
// per-item results, require_alias, external versioning and delete tombstones · single-doc
// PUT|POST|GET|HEAD|DELETE /{index}/_doc/{id} · _refresh (search and _count see the last refresh, as
// on a real cluster; every index refreshes itself each second unless refresh_interval is -1) · _count ·
// _search (match_all, term, terms, ids, match, range, bool; from / size) · strict and typed mappings
// (document_parsing_exception, strict_dynamic_mapping_exception).
// Every answer carries `x-elastic-product: Elasticsearch`, which the official client checks.
// Fault injection (`faults`): 429 es_rejected_execution_exception on chosen bulk item ids, whole-request
// errors (e.g. 500) on chosen paths, and a fixed latency before every answer.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = Record<string, unknown>;

interface StoredDoc {
  source: Json | null;
  version: number;
  seqNo: number;
  deleted: boolean;
}

interface StoredIndex {
  name: string;
  uuid: string;
  settings: Json;
  mappings: Json;
  docs: Map<string, StoredDoc>;
  /** what search and _count see: the live docs as of the last refresh */
  visible: Map<string, StoredDoc>;
  seq: number;
  createdAt: number;
}

interface Template {
  index_patterns: string[];
  template?: { settings?: Json; mappings?: Json; aliases?: Record<string, Json> };
  priority?: number;
  _meta?: Json;
  [k: string]: unknown;
}

export interface StandinFaults {
  /** ms to wait before every answer (the benchmark's fixed 5 ms per request) */
  latencyMs: number;
  /** bulk item `_id` → how many more times that item is answered 429 es_rejected_execution_exception */
  rejectItems: Map<string, number>;
  /** whole-request failures: the next `count` requests whose path ends with `pathSuffix` get `status` */
  failRequests: { pathSuffix: string; status: number; count: number }[];
}

class EsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    reason: string,
    readonly extra: Json = {},
  ) {
    super(reason);
  }
  body(): Json {
    const cause = { type: this.type, reason: this.message, ...this.extra };
    return { error: { root_cause: [cause], ...cause }, status: this.status };
  }
  item(): Json {
    return { type: this.type, reason: this.message, ...this.extra };
  }
}

const clone = <T>(v: T): T => structuredClone(v);

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

function validIndexName(name: string) {
  return /^[a-z0-9][a-z0-9._+-]*$/.test(name) && name.length <= 255 && name !== '.' && name !== '..';
}

/** Deep merge for settings/mappings (template first, request on top). */
function merge(a: Json | undefined, b: Json | undefined): Json {
  const out: Json = clone(a ?? {});
  for (const [k, v] of Object.entries(b ?? {})) {
    const cur = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) {
      out[k] = merge(cur as Json, v as Json);
    } else out[k] = clone(v);
  }
  return out;
}

/** Flatten `{ index: { refresh_interval } }` and `{ "index.refresh_interval" }` alike to `index.x` keys. */
function flattenSettings(s: Json, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, flattenSettings(v as Json, key));
    else out[key.startsWith('index.') ? key : `index.${key}`] = v;
  }
  return out;
}

function nestSettings(flat: Record<string, unknown>): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(flat)) {
    if (v === null) continue;
    const parts = k.split('.');
    let at = out;
    for (const p of parts.slice(0, -1)) {
      at[p] ??= {};
      at = at[p] as Json;
    }
    at[parts.at(-1) as string] = typeof v === 'number' || typeof v === 'boolean' ? String(v) : v;
  }
  return out;
}

// ── mappings ────────────────────────────────────────────────────────────────────────────────────

const NUMERIC_INT = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long']);
const NUMERIC_FLOAT = new Set(['float', 'double', 'half_float', 'scaled_float']);

function preview(v: unknown) {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function checkValue(type: string, field: string, value: unknown, id: string) {
  const fail = () => {
    throw new EsError(
      400,
      'document_parsing_exception',
      `[1:2] failed to parse field [${field}] of type [${type}] in document with id '${id}'. Preview of field's value: '${preview(value)}'`,
    );
  };
  if (value === null) return;
  if (Array.isArray(value)) {
    for (const v of value) checkValue(type, field, v, id);
    return;
  }
  if (NUMERIC_INT.has(type) || NUMERIC_FLOAT.has(type)) {
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
    if (!Number.isFinite(n)) fail();
    if (NUMERIC_INT.has(type) && !Number.isInteger(n)) fail();
  } else if (type === 'boolean') {
    if (!(typeof value === 'boolean' || value === 'true' || value === 'false' || value === '')) fail();
  } else if (type === 'date') {
    if (!(typeof value === 'number' || (typeof value === 'string' && !Number.isNaN(Date.parse(value))))) fail();
  } else if (type === 'keyword' || type === 'text' || type === 'match_only_text' || type === 'wildcard') {
    if (typeof value === 'object') fail();
  }
}

function checkDocument(mapping: Json, doc: Json, id: string, path = '', inheritedDynamic: unknown = true) {
  const props = (mapping.properties ?? {}) as Record<string, Json>;
  const dynamic = mapping.dynamic ?? inheritedDynamic;
  for (const [k, v] of Object.entries(doc)) {
    const field = path ? `${path}.${k}` : k;
    const prop = props[k];
    if (!prop) {
      if (dynamic === 'strict' || dynamic === 'strict_allow_templates') {
        throw new EsError(
          400,
          'strict_dynamic_mapping_exception',
          `[1:2] mapping set to strict, dynamic introduction of [${k}] within [${path || '_doc'}] is not allowed`,
        );
      }
      continue;
    }
    const type = (prop.type as string | undefined) ?? (prop.properties ? 'object' : 'object');
    if (type === 'object' || type === 'nested') {
      if (v === null) continue;
      const items = Array.isArray(v) ? v : [v];
      for (const item of items) {
        if (typeof item !== 'object' || item === null || Array.isArray(item)) {
          throw new EsError(
            400,
            'document_parsing_exception',
            `[1:2] object mapping for [${field}] tried to parse field [${k}] as object, but found a concrete value`,
          );
        }
        checkDocument(prop, item as Json, id, field, dynamic);
      }
    } else checkValue(type, field, v, id);
  }
}

// ── queries ─────────────────────────────────────────────────────────────────────────────────────

function fieldValues(doc: Json, field: string): unknown[] {
  let cur: unknown[] = [doc];
  for (const part of field.split('.')) {
    cur = cur.flatMap((c) => {
      if (c && typeof c === 'object' && !Array.isArray(c)) {
        const v = (c as Json)[part];
        return Array.isArray(v) ? v : v === undefined ? [] : [v];
      }
      return [];
    });
  }
  return cur;
}

const tokens = (v: unknown) =>
  String(v)
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);

function matches(query: Json | undefined, id: string, doc: Json): boolean {
  if (!query || Object.keys(query).length === 0) return true;
  const [kind, body] = Object.entries(query)[0] as [string, Json];
  switch (kind) {
    case 'match_all':
      return true;
    case 'match_none':
      return false;
    case 'ids':
      return ((body.values as string[]) ?? []).includes(id);
    case 'term': {
      const [field, spec] = Object.entries(body)[0] as [string, unknown];
      const want = spec && typeof spec === 'object' ? (spec as Json).value : spec;
      if (field === '_id') return id === String(want);
      return fieldValues(doc, field.replace(/\.keyword$/, '')).some((v) => v === want || String(v) === String(want));
    }
    case 'terms': {
      const [field, list] = Object.entries(body)[0] as [string, unknown[]];
      if (field === '_id') return list.map(String).includes(id);
      return fieldValues(doc, field.replace(/\.keyword$/, '')).some((v) => list.some((w) => String(w) === String(v)));
    }
    case 'match': {
      const [field, spec] = Object.entries(body)[0] as [string, unknown];
      const want = tokens(spec && typeof spec === 'object' ? (spec as Json).query : spec);
      const have = new Set(fieldValues(doc, field).flatMap(tokens));
      return want.some((t) => have.has(t));
    }
    case 'range': {
      const [field, r] = Object.entries(body)[0] as [string, Json];
      return fieldValues(doc, field).some((v) => {
        const x = typeof v === 'number' ? v : Number.isNaN(Number(v)) ? Date.parse(String(v)) : Number(v);
        const num = (b: unknown) => (typeof b === 'number' ? b : Number.isNaN(Number(b)) ? Date.parse(String(b)) : Number(b));
        if (r.gt !== undefined && !(x > num(r.gt))) return false;
        if (r.gte !== undefined && !(x >= num(r.gte))) return false;
        if (r.lt !== undefined && !(x < num(r.lt))) return false;
        if (r.lte !== undefined && !(x <= num(r.lte))) return false;
        return true;
      });
    }
    case 'bool': {
      const list = (k: string) => {
        const v = body[k];
        return (Array.isArray(v) ? v : v ? [v] : []) as Json[];
      };
      if (![...list('must'), ...list('filter')].every((q) => matches(q, id, doc))) return false;
      if (list('must_not').some((q) => matches(q, id, doc))) return false;
      const should = list('should');
      return should.length === 0 || should.some((q) => matches(q, id, doc));
    }
    default:
      throw new EsError(
        400,
        'parsing_exception',
        `unknown query [${kind}] (the test stand-in implements match_all, ids, term, terms, match, range, bool)`,
      );
  }
}

// ── the server ──────────────────────────────────────────────────────────────────────────────────

export class EsStandin {
  readonly faults: StandinFaults = { latencyMs: 0, rejectItems: new Map(), failRequests: [] };
  /** requests served, by `METHOD path-pattern` (e.g. `POST /_bulk`) */
  readonly stats = { requests: 0, bulkRequests: 0, bulkItems: 0 };
  private readonly indices = new Map<string, StoredIndex>();
  /** alias → index → { is_write_index? } */
  private readonly aliases = new Map<string, Map<string, Json>>();
  private readonly templates = new Map<string, Template>();
  private server: Server | undefined;
  private refresher: NodeJS.Timeout | undefined;
  url = '';

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.refresher = setInterval(() => {
      for (const idx of this.indices.values()) {
        const ri = flattenSettings(idx.settings)['index.refresh_interval'];
        if (ri !== '-1' && ri !== -1) this.refreshIndex(idx);
      }
    }, 1_000);
    this.refresher.unref();
    return this.url;
  }

  async close() {
    clearInterval(this.refresher);
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://standin');
    const method = req.method ?? 'GET';
    this.stats.requests++;
    let status = 200;
    let body: unknown;
    try {
      const fault = this.faults.failRequests.find((f) => f.count > 0 && url.pathname.endsWith(f.pathSuffix));
      if (fault) {
        fault.count--;
        throw new EsError(fault.status, 'stand_in_injected_fault', `injected ${fault.status} by the test stand-in`);
      }
      [status, body] = this.route(method, url, raw, req.headers['content-type'] ?? '');
    } catch (err) {
      if (err instanceof EsError) [status, body] = [err.status, err.body()];
      else [status, body] = [500, new EsError(500, 'exception', String((err as Error).stack ?? err)).body()];
    }
    if (this.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, this.faults.latencyMs));
    const text = method === 'HEAD' || body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      'x-elastic-product': 'Elasticsearch',
      'content-type': 'application/vnd.elasticsearch+json;compatible-with=9',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  private json(raw: string): Json {
    if (!raw.trim()) return {};
    try {
      return JSON.parse(raw) as Json;
    } catch (err) {
      throw new EsError(400, 'x_content_parse_exception', `request body is not JSON: ${(err as Error).message}`);
    }
  }

  private route(method: string, url: URL, raw: string, _contentType: string): [number, unknown] {
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const q = url.searchParams;
    const [a, b, c] = parts;
    if (parts.length === 0) {
      if (method === 'GET' || method === 'HEAD') return [200, this.info()];
    } else if (a === '_bulk') {
      if (method === 'POST' || method === 'PUT') return this.bulk(raw, q, undefined);
    } else if (a === '_index_template' && b) {
      return this.template(method, b, raw);
    } else if (a === '_aliases' && method === 'POST') {
      return this.updateAliases(this.json(raw));
    } else if (a === '_alias') {
      return this.getAlias(method, undefined, b);
    } else if (a === '_refresh') {
      return this.refresh('_all');
    } else if (a === '_count' || a === '_search') {
      return a === '_count' ? this.count('_all', this.json(raw), q) : this.search('_all', this.json(raw), q);
    } else if (a && !a.startsWith('_')) {
      if (parts.length === 1) return this.indexLevel(method, a, raw, q);
      if (b === '_bulk' && (method === 'POST' || method === 'PUT')) return this.bulk(raw, q, a);
      if (b === '_refresh') return this.refresh(a);
      if (b === '_count') return this.count(a, this.json(raw), q);
      if (b === '_search') return this.search(a, this.json(raw), q);
      if (b === '_settings') return this.settings(method, a, raw);
      if (b === '_mapping' && method === 'GET') {
        return [200, Object.fromEntries(this.resolveRead(a).map((i) => [i.name, { mappings: i.mappings }]))];
      }
      if (b === '_alias') return this.getAlias(method, a, c);
      if ((b === '_doc' || b === '_create') && c) return this.docLevel(method, a, c, raw, q, b === '_create');
      if (b === '_doc' && !c && method === 'POST') return this.docLevel(method, a, randomUUID(), raw, q, false);
    }
    throw new EsError(400, 'illegal_argument_exception', `the test stand-in has no handler for [${method} ${url.pathname}]`);
  }

  private info() {
    return {
      name: 'es-standin',
      cluster_name: 'conveyor-test-standin',
      cluster_uuid: 'standin',
      version: {
        number: '9.0.0',
        build_flavor: 'default',
        lucene_version: '10.0.0',
        minimum_wire_compatibility_version: '8.18.0',
        minimum_index_compatibility_version: '8.0.0',
      },
      tagline: 'You Know, for Search',
    };
  }

  // ── templates and indices ─────────────────────────────────────────────────────────────────────

  private template(method: string, name: string, raw: string): [number, unknown] {
    if (method === 'PUT' || method === 'POST') {
      const body = this.json(raw) as Template;
      if (!Array.isArray(body.index_patterns) || body.index_patterns.length === 0) {
        throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: index patterns are missing;');
      }
      this.templates.set(name, clone(body));
      return [200, { acknowledged: true }];
    }
    const names = [...this.templates.keys()].filter((n) => wildcard(name).test(n));
    if (method === 'DELETE') {
      if (names.length === 0) throw new EsError(404, 'resource_not_found_exception', `index_template [${name}] missing`);
      for (const n of names) this.templates.delete(n);
      return [200, { acknowledged: true }];
    }
    if (names.length === 0) {
      if (method === 'HEAD') return [404, undefined];
      throw new EsError(404, 'resource_not_found_exception', `index template matching [${name}] not found`);
    }
    return [200, { index_templates: names.map((n) => ({ name: n, index_template: this.templates.get(n) })) }];
  }

  private createIndex(name: string, body: Json): StoredIndex {
    if (!validIndexName(name)) throw new EsError(400, 'invalid_index_name_exception', `Invalid index name [${name}], must be lowercase`);
    if (this.indices.has(name)) {
      throw new EsError(400, 'resource_already_exists_exception', `index [${name}/${this.indices.get(name)?.uuid}] already exists`, {
        index: name,
      });
    }
    if (this.aliases.has(name))
      throw new EsError(400, 'invalid_index_name_exception', `Invalid index name [${name}], already exists as alias`);
    const tpl = [...this.templates.values()]
      .filter((t) => t.index_patterns.some((p) => wildcard(p).test(name)))
      .sort((x, y) => (y.priority ?? 0) - (x.priority ?? 0))[0];
    const settings = flattenSettings(merge(tpl?.template?.settings, body.settings as Json | undefined));
    const index: StoredIndex = {
      name,
      uuid: randomUUID(),
      settings: nestSettings(settings),
      mappings: merge(tpl?.template?.mappings, body.mappings as Json | undefined),
      docs: new Map(),
      visible: new Map(),
      seq: 0,
      createdAt: Date.now(),
    };
    const aliases = { ...tpl?.template?.aliases, ...(body.aliases as Record<string, Json> | undefined) };
    for (const alias of Object.keys(aliases)) {
      if (this.indices.has(alias))
        throw new EsError(
          400,
          'invalid_alias_name_exception',
          `Invalid alias name [${alias}]: an index or data stream exists with the same name as the alias`,
        );
    }
    this.indices.set(name, index);
    for (const [alias, opts] of Object.entries(aliases)) this.addAlias(alias, name, opts ?? {});
    return index;
  }

  private addAlias(alias: string, index: string, opts: Json) {
    const m = this.aliases.get(alias) ?? new Map<string, Json>();
    this.aliases.set(alias, m);
    m.set(index, clone(opts));
  }

  /** names (comma list, wildcards, aliases) → indices, for reads */
  private resolveRead(expr: string, opts: { allowMissing?: boolean } = {}): StoredIndex[] {
    const out = new Map<string, StoredIndex>();
    for (const part of expr.split(',')) {
      if (part === '_all' || part === '*') {
        for (const i of this.indices.values()) out.set(i.name, i);
        continue;
      }
      if (part.includes('*')) {
        const re = wildcard(part);
        for (const i of this.indices.values()) if (re.test(i.name)) out.set(i.name, i);
        for (const [alias, m] of this.aliases) if (re.test(alias)) for (const n of m.keys()) out.set(n, this.indices.get(n) as StoredIndex);
        continue;
      }
      const idx = this.indices.get(part);
      if (idx) out.set(idx.name, idx);
      else if (this.aliases.has(part)) for (const n of this.aliases.get(part)?.keys() ?? []) out.set(n, this.indices.get(n) as StoredIndex);
      else if (!opts.allowMissing)
        throw new EsError(404, 'index_not_found_exception', `no such index [${part}]`, {
          'resource.type': 'index_or_alias',
          'resource.id': part,
          index: part,
        });
    }
    return [...out.values()];
  }

  /** the index a write to `name` lands in (auto-creating it unless `requireAlias`) */
  private resolveWrite(name: string, requireAlias: boolean): StoredIndex {
    const alias = this.aliases.get(name);
    if (alias) {
      if (alias.size === 1) return this.indices.get([...alias.keys()][0] as string) as StoredIndex;
      const w = [...alias].find(([, o]) => o.is_write_index === true);
      if (!w) {
        throw new EsError(
          400,
          'illegal_argument_exception',
          `no write index is defined for alias [${name}]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index`,
        );
      }
      return this.indices.get(w[0]) as StoredIndex;
    }
    if (requireAlias) {
      throw new EsError(
        404,
        'index_not_found_exception',
        `no such index [${name}] and [require_alias] request flag is [true] and [${name}] is not an alias`,
        {
          index: name,
        },
      );
    }
    return this.indices.get(name) ?? this.createIndex(name, {});
  }

  private indexLevel(method: string, name: string, raw: string, _q: URLSearchParams): [number, unknown] {
    if (method === 'PUT') {
      const idx = this.createIndex(name, this.json(raw));
      return [200, { acknowledged: true, shards_acknowledged: true, index: idx.name }];
    }
    if (method === 'HEAD') {
      return [this.resolveRead(name, { allowMissing: true }).length > 0 ? 200 : 404, undefined];
    }
    if (method === 'GET') {
      const found = this.resolveRead(name, { allowMissing: name.includes('*') });
      return [200, Object.fromEntries(found.map((i) => [i.name, this.describe(i)]))];
    }
    if (method === 'DELETE') {
      for (const part of name.split(',')) {
        if (this.aliases.has(part))
          throw new EsError(
            400,
            'illegal_argument_exception',
            `The provided expression [${part}] matches an alias, specify the corresponding concrete indices instead.`,
          );
      }
      const found = this.resolveRead(name, { allowMissing: name.includes('*') });
      for (const i of found) {
        this.indices.delete(i.name);
        for (const [alias, m] of this.aliases) {
          m.delete(i.name);
          if (m.size === 0) this.aliases.delete(alias);
        }
      }
      return [200, { acknowledged: true }];
    }
    throw new EsError(405, 'method_not_allowed', `Incorrect HTTP method for uri [/${name}] and method [${method}]`);
  }

  private describe(i: StoredIndex) {
    const aliases: Json = {};
    for (const [alias, m] of this.aliases) if (m.has(i.name)) aliases[alias] = m.get(i.name);
    return {
      aliases,
      mappings: i.mappings,
      settings: {
        index: { ...((i.settings.index as Json) ?? {}), uuid: i.uuid, provided_name: i.name, creation_date: String(i.createdAt) },
      },
    };
  }

  private settings(method: string, name: string, raw: string): [number, unknown] {
    const found = this.resolveRead(name);
    if (method === 'PUT') {
      const patch = flattenSettings(this.json(raw));
      for (const i of found) i.settings = nestSettings({ ...flattenSettings(i.settings), ...patch });
      return [200, { acknowledged: true }];
    }
    return [200, Object.fromEntries(found.map((i) => [i.name, { settings: i.settings }]))];
  }

  // ── aliases ───────────────────────────────────────────────────────────────────────────────────

  private updateAliases(body: Json): [number, unknown] {
    const actions = body.actions as Json[] | undefined;
    if (!Array.isArray(actions) || actions.length === 0) {
      throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: no actions specified;');
    }
    // All or nothing: work on copies, commit at the end.
    const aliases = new Map([...this.aliases].map(([k, m]) => [k, new Map([...m].map(([i, o]) => [i, clone(o)]))]));
    const removeIndices = new Set<string>();
    const names = (o: Json, one: string, many: string) =>
      (o[many] as string[] | undefined) ?? (o[one] !== undefined ? [o[one] as string] : []);
    for (const action of actions) {
      const [kind, o] = Object.entries(action)[0] as [string, Json];
      const indices = names(o, 'index', 'indices').flatMap((n) => this.resolveRead(n).map((i) => i.name));
      if (kind === 'remove_index') {
        for (const i of indices) removeIndices.add(i);
        continue;
      }
      const aliasNames = names(o, 'alias', 'aliases');
      if (kind === 'add') {
        for (const alias of aliasNames) {
          if (this.indices.has(alias))
            throw new EsError(
              400,
              'invalid_alias_name_exception',
              `Invalid alias name [${alias}]: an index or data stream exists with the same name as the alias`,
            );
          const m = aliases.get(alias) ?? new Map<string, Json>();
          aliases.set(alias, m);
          for (const i of indices) m.set(i, o.is_write_index === undefined ? {} : { is_write_index: o.is_write_index });
        }
      } else if (kind === 'remove') {
        for (const alias of aliasNames) {
          const m = aliases.get(alias);
          const hit = indices.filter((i) => m?.has(i));
          if (hit.length === 0 && o.must_exist !== false) {
            throw new EsError(404, 'aliases_not_found_exception', `aliases [${alias}] missing`, {
              'resource.type': 'aliases',
              'resource.id': alias,
            });
          }
          for (const i of hit) m?.delete(i);
          if (m && m.size === 0) aliases.delete(alias);
        }
      } else throw new EsError(400, 'illegal_argument_exception', `unknown alias action [${kind}]`);
    }
    this.aliases.clear();
    for (const [k, m] of aliases) if (m.size > 0) this.aliases.set(k, m);
    for (const name of removeIndices) {
      this.indices.delete(name);
      for (const [alias, m] of this.aliases) {
        m.delete(name);
        if (m.size === 0) this.aliases.delete(alias);
      }
    }
    return [200, { acknowledged: true, errors: false }];
  }

  private getAlias(method: string, index: string | undefined, name: string | undefined): [number, unknown] {
    const within = index ? new Set(this.resolveRead(index).map((i) => i.name)) : undefined;
    const out: Record<string, { aliases: Json }> = {};
    const re = name ? name.split(',').map(wildcard) : [/.*/];
    let matched = false;
    for (const [alias, m] of this.aliases) {
      if (!re.some((r) => r.test(alias))) continue;
      for (const [i, opts] of m) {
        if (within && !within.has(i)) continue;
        matched = true;
        out[i] ??= { aliases: {} };
        out[i].aliases[alias] = opts;
      }
    }
    if (name && !matched && !name.includes('*')) {
      if (method === 'HEAD') return [404, undefined];
      return [404, { error: `alias [${name}] missing`, status: 404 }];
    }
    if (method === 'HEAD') return [matched ? 200 : 404, undefined];
    return [200, out];
  }

  // ── documents ─────────────────────────────────────────────────────────────────────────────────

  /** Apply one write; returns the item result (without the action key) or throws EsError. */
  private write(
    op: 'index' | 'create' | 'delete',
    target: string,
    id: string,
    source: Json | null,
    meta: { version?: number; versionType?: string; requireAlias: boolean },
  ): Json {
    const idx = this.resolveWrite(target, meta.requireAlias);
    const external = meta.versionType === 'external' || meta.versionType === 'external_gte';
    if (meta.version !== undefined && !external) {
      throw new EsError(
        400,
        'action_request_validation_exception',
        'Validation Failed: 1: internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead;',
      );
    }
    if (meta.versionType !== undefined && !external && meta.versionType !== 'internal') {
      throw new EsError(400, 'illegal_argument_exception', `No version type match [${meta.versionType}]`);
    }
    if (external && meta.version === undefined) {
      throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: an external version must be provided;');
    }
    const cur = idx.docs.get(id);
    if (external && cur) {
      const ok = meta.versionType === 'external_gte' ? (meta.version as number) >= cur.version : (meta.version as number) > cur.version;
      if (!ok) {
        throw new EsError(
          409,
          'version_conflict_engine_exception',
          `[${id}]: version conflict, current version [${cur.version}] is higher or equal to the one provided [${meta.version}]`,
          {
            index_uuid: idx.uuid,
            shard: '0',
            index: idx.name,
          },
        );
      }
    }
    if (op === 'create' && cur && !cur.deleted) {
      throw new EsError(
        409,
        'version_conflict_engine_exception',
        `[${id}]: version conflict, document already exists (current version [${cur.version}])`,
        {
          index: idx.name,
        },
      );
    }
    if (op !== 'delete') checkDocument(idx.mappings, source ?? {}, id);
    const version = external ? (meta.version as number) : (cur?.version ?? 0) + 1;
    const seqNo = idx.seq++;
    const base = {
      _index: idx.name,
      _id: id,
      _version: version,
      _shards: { total: 1, successful: 1, failed: 0 },
      _seq_no: seqNo,
      _primary_term: 1,
    };
    if (op === 'delete') {
      const existed = cur !== undefined && !cur.deleted;
      idx.docs.set(id, { source: null, version, seqNo, deleted: true });
      return { ...base, result: existed ? 'deleted' : 'not_found', status: existed ? 200 : 404 };
    }
    const created = cur === undefined || cur.deleted;
    // `source` was parsed from this request: nobody else holds it
    idx.docs.set(id, { source: source ?? {}, version, seqNo, deleted: false });
    return { ...base, result: created ? 'created' : 'updated', status: created ? 201 : 200 };
  }

  private bulk(raw: string, q: URLSearchParams, defaultIndex: string | undefined): [number, unknown] {
    this.stats.bulkRequests++;
    const started = Date.now();
    const lines = raw.split('\n').filter((l) => l.trim() !== '');
    if (lines.length === 0) throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: no requests added;');
    const items: Json[] = [];
    const touched = new Set<StoredIndex>();
    const requireAliasAll = q.get('require_alias') === 'true';
    for (let i = 0; i < lines.length; i++) {
      const action = this.json(lines[i] as string);
      const [op, meta] = (Object.entries(action)[0] ?? []) as [string, Json];
      if (!['index', 'create', 'delete', 'update'].includes(op)) {
        throw new EsError(
          400,
          'illegal_argument_exception',
          `Malformed action/metadata line [${i + 1}], expected one of [create, delete, index, update] but found [${op}]`,
        );
      }
      let source: Json | null = null;
      if (op !== 'delete') source = this.json(lines[++i] ?? '');
      this.stats.bulkItems++;
      const target = (meta._index as string | undefined) ?? defaultIndex;
      const id = (meta._id as string | undefined) ?? (op === 'index' || op === 'create' ? randomUUID() : '');
      try {
        if (!target) throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: index is missing;');
        if (op === 'update') throw new EsError(400, 'illegal_argument_exception', 'the test stand-in does not implement bulk update');
        const reject = this.faults.rejectItems.get(id);
        if (reject !== undefined && reject > 0) {
          this.faults.rejectItems.set(id, reject - 1);
          throw new EsError(
            429,
            'es_rejected_execution_exception',
            'rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1, max_coordinating_and_primary_bytes=0] (injected by the test stand-in)',
          );
        }
        const result = this.write(op as 'index' | 'create' | 'delete', target, id, source, {
          version: meta.version === undefined ? undefined : Number(meta.version),
          versionType: meta.version_type as string | undefined,
          requireAlias: meta.require_alias === true || (meta.require_alias === undefined && requireAliasAll),
        });
        touched.add(this.indices.get(result._index as string) as StoredIndex);
        items.push({ [op]: result });
      } catch (err) {
        if (!(err instanceof EsError)) throw err;
        items.push({ [op]: { _index: target ?? null, _id: id, status: err.status, error: err.item() } });
      }
    }
    const refresh = q.get('refresh');
    if (refresh === 'true' || refresh === '' || refresh === 'wait_for') for (const i of touched) this.refreshIndex(i);
    const errors = items.some((it) => {
      const r = Object.values(it)[0] as Json;
      return r.error !== undefined;
    });
    return [200, { errors, took: Date.now() - started, items }];
  }

  private docLevel(method: string, index: string, id: string, raw: string, q: URLSearchParams, create: boolean): [number, unknown] {
    if (method === 'GET' || method === 'HEAD') {
      const [idx] = this.resolveRead(index);
      if (!idx) throw new EsError(404, 'index_not_found_exception', `no such index [${index}]`);
      const d = idx.docs.get(id);
      if (!d || d.deleted) return [404, { _index: idx.name, _id: id, found: false }];
      return [200, { _index: idx.name, _id: id, _version: d.version, _seq_no: d.seqNo, _primary_term: 1, found: true, _source: d.source }];
    }
    const meta = {
      version: q.get('version') === null ? undefined : Number(q.get('version')),
      versionType: q.get('version_type') ?? undefined,
      requireAlias: q.get('require_alias') === 'true',
    };
    let result: Json;
    if (method === 'DELETE') {
      const [idx] = this.resolveRead(index);
      if (!idx) throw new EsError(404, 'index_not_found_exception', `no such index [${index}]`);
      result = this.write('delete', index, id, null, meta);
    } else if (method === 'PUT' || method === 'POST') {
      const opType = create || q.get('op_type') === 'create' ? 'create' : 'index';
      result = this.write(opType, index, id, this.json(raw), meta);
    } else throw new EsError(405, 'method_not_allowed', `Incorrect HTTP method [${method}]`);
    const refresh = q.get('refresh');
    if (refresh === 'true' || refresh === '' || refresh === 'wait_for')
      this.refreshIndex(this.indices.get(result._index as string) as StoredIndex);
    const { status, ...rest } = result;
    return [status as number, rest];
  }

  // ── refresh, count, search ────────────────────────────────────────────────────────────────────

  private refreshIndex(i: StoredIndex) {
    i.visible = new Map([...i.docs].filter(([, d]) => !d.deleted));
  }

  private refresh(expr: string): [number, unknown] {
    const found = this.resolveRead(expr);
    for (const i of found) this.refreshIndex(i);
    return [200, { _shards: { total: found.length, successful: found.length, failed: 0 } }];
  }

  private hits(expr: string, body: Json, q: URLSearchParams) {
    const query = (body.query as Json | undefined) ?? (q.get('q') ? undefined : undefined);
    const out: { index: string; id: string; doc: StoredDoc }[] = [];
    for (const i of this.resolveRead(expr)) {
      for (const [id, d] of i.visible) if (matches(query, id, d.source ?? {})) out.push({ index: i.name, id, doc: d });
    }
    return out;
  }

  private count(expr: string, body: Json, q: URLSearchParams): [number, unknown] {
    const n = this.hits(expr, body, q).length;
    return [200, { count: n, _shards: { total: 1, successful: 1, skipped: 0, failed: 0 } }];
  }

  private search(expr: string, body: Json, q: URLSearchParams): [number, unknown] {
    const all = this.hits(expr, body, q).sort((x, y) => x.id.localeCompare(y.id));
    const from = Number(body.from ?? q.get('from') ?? 0);
    const size = Number(body.size ?? q.get('size') ?? 10);
    return [
      200,
      {
        took: 1,
        timed_out: false,
        _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
        hits: {
          total: { value: all.length, relation: 'eq' },
          max_score: all.length ? 1 : null,
          hits: all.slice(from, from + size).map((h) => ({
            _index: h.index,
            _id: h.id,
            _score: 1,
            ...(body.version === true ? { _version: h.doc.version } : {}),
            _source: h.doc.source,
          })),
        },
      },
    ];
  }
}

/** Start a stand-in on 127.0.0.1, a free port. */
export async function startEsStandin(): Promise<EsStandin> {
  const s = new EsStandin();
  await s.start();
  return s;
}
