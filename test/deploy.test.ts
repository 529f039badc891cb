// The Kubernetes manifests in deploy/kubernetes, checked without a cluster: every file parses as YAML,
// every object has a known kind/apiVersion and its required fields, selectors match pod labels,
// probes hit /healthz and /readyz on declared ports, the grace period covers WORKER_SHUTDOWN_GRACE_MS,
// the ConfigMap is a valid configuration, and KEDA scales on the latency signal we actually export.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { pgbossSchemaFor } from '../core/engines/factory.ts';
import { configSchema, loadConfig } from '../workers/config.ts';
import { type EngineName, setup } from './helpers.ts';

const DIR = join(import.meta.dirname, '..', 'deploy', 'kubernetes');

type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [k: string]: any };

const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'));
const docs: { file: string; obj: Obj }[] = [];
for (const file of files) {
  for (const doc of parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const obj = doc.toJS() as Obj | null;
    if (obj) docs.push({ file, obj });
  }
}
const byKind = (kind: string) => docs.filter((d) => d.obj.kind === kind).map((d) => d.obj);
const named = (kind: string, name: string) => {
  const o = byKind(kind).find((x) => x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in ${DIR}`);
  return o;
};

const API_VERSIONS: Record<string, string> = {
  Deployment: 'apps/v1',
  Service: 'v1',
  ConfigMap: 'v1',
  Secret: 'v1',
  Job: 'batch/v1',
  ScaledObject: 'keda.sh/v1alpha1',
  TriggerAuthentication: 'keda.sh/v1alpha1',
  ServiceMonitor: 'monitoring.coreos.com/v1',
  PodMonitor: 'monitoring.coreos.com/v1',
  Kustomization: 'kustomize.config.k8s.io/v1beta1',
};

/** the worker Deployments, one per production process type (WORKER_PROCESS_TYPES, the Procfile's worker_* lines) */
const WORKERS = ['email', 'reports', 'search'].map((n) => ({ deployment: `worker-${n}`, processType: `worker_${n}` }));

const subset = (labels: Record<string, string>, of: Record<string, string> | undefined) =>
  Object.entries(labels).every(([k, v]) => of?.[k] === v);

describe('deploy/kubernetes manifests', () => {
  it('parse, and every object has a known kind, its apiVersion and a DNS-safe name', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const { file, obj } of docs) {
      expect(API_VERSIONS[obj.kind], `${file}: unexpected kind ${obj.kind}`).toBeDefined();
      expect(obj.apiVersion, `${file} ${obj.kind}`).toBe(API_VERSIONS[obj.kind]);
      if (obj.kind !== 'Kustomization') expect(obj.metadata?.name, file).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });

  it('the kustomization lists files that exist', () => {
    const [k] = byKind('Kustomization');
    for (const r of k?.resources ?? []) expect(files, r).toContain(r);
  });

  it('has a Deployment per long-running process type, with selectors matching pod labels and the right command', () => {
    for (const [type, deployment] of [['web', 'web'], ['scheduler', 'scheduler'], ...WORKERS.map((w) => ['worker', w.deployment])]) {
      const d = named('Deployment', `conveyor-${deployment}`);
      const match = d.spec.selector.matchLabels as Record<string, string>;
      expect(Object.keys(match).length).toBeGreaterThan(0);
      expect(subset(match, d.spec.template.metadata.labels), `${type} selector`).toBe(true);
      expect(match['app.kubernetes.io/component']).toBe(type);
      const [c] = d.spec.template.spec.containers;
      expect(c.image).toBeTruthy();
      expect(c.command).toEqual(['node', `dist/processes/${type}.js`]); // npm run build, in the image
      const refs = (c.envFrom as { configMapRef?: { name: string }; secretRef?: { name: string } }[]).map(
        (e) => e.configMapRef?.name ?? e.secretRef?.name,
      );
      expect(refs).toEqual(['conveyor-config', 'conveyor-secrets']);
      expect(d.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
    }
    // no two Deployments select the same pods
    const selectors = byKind('Deployment').map((d) => JSON.stringify(d.spec.selector.matchLabels));
    expect(new Set(selectors).size).toBe(selectors.length);
  });

  it('probes web and workers on /healthz (liveness) and /readyz (readiness) at declared ports', () => {
    for (const type of ['web', ...WORKERS.map((w) => w.deployment)]) {
      const [c] = named('Deployment', `conveyor-${type}`).spec.template.spec.containers;
      const ports = (c.ports as { name: string; containerPort: number }[]).map((p) => p.name);
      expect(c.livenessProbe.httpGet.path, type).toBe('/healthz');
      expect(c.readinessProbe.httpGet.path, type).toBe('/readyz');
      expect(ports).toContain(c.livenessProbe.httpGet.port);
      expect(ports).toContain(c.readinessProbe.httpGet.port);
    }
    const cm = named('ConfigMap', 'conveyor-config').data as Record<string, string>;
    for (const w of WORKERS) {
      const [worker] = named('Deployment', `conveyor-${w.deployment}`).spec.template.spec.containers;
      expect(worker.ports[0].containerPort).toBe(Number(cm.WORKER_METRICS_PORT));
    }
    const [web] = named('Deployment', 'conveyor-web').spec.template.spec.containers;
    expect(web.ports[0].containerPort).toBe(Number(cm.PORT));
  });

  it('gives workers time to finish in-flight jobs before the kill', () => {
    const cm = named('ConfigMap', 'conveyor-config').data as Record<string, string>;
    for (const w of WORKERS) {
      const grace = named('Deployment', `conveyor-${w.deployment}`).spec.template.spec.terminationGracePeriodSeconds as number;
      expect(Number(cm.WORKER_SHUTDOWN_GRACE_MS) / 1000).toBeLessThanOrEqual(grace - 5);
    }
  });

  it('the ConfigMap (with the secret’s keys) is a valid production configuration', () => {
    const cm = named('ConfigMap', 'conveyor-config').data as Record<string, string>;
    const secret = named('Secret', 'conveyor-secrets').stringData as Record<string, string>;
    const known = new Set(Object.keys(configSchema.shape));
    for (const key of Object.keys(cm)) expect(known.has(key), `ConfigMap key ${key} is not a Conveyor setting`).toBe(true);
    for (const key of Object.keys(secret).filter((k) => k !== 'SCALING_API_KEY')) {
      expect(known.has(key), `Secret key ${key} is not a Conveyor setting`).toBe(true);
    }
    const config = loadConfig({ ...cm, ...secret });
    expect(config.NODE_ENV).toBe('production');
    expect(config.WORKER_SHUTDOWN_GRACE_MS).toBe(25_000);
  });

  it('exposes the web pods through a Service whose selector and targetPort match', () => {
    const svc = named('Service', 'conveyor-web');
    const web = named('Deployment', 'conveyor-web');
    expect(subset(svc.spec.selector, web.spec.template.metadata.labels)).toBe(true);
    const ports = web.spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name);
    for (const p of svc.spec.ports) expect(ports).toContain(p.targetPort);
  });

  it('runs release as a one-shot Job that is not retried', () => {
    const job = named('Job', 'conveyor-release');
    expect(job.spec.backoffLimit).toBe(0);
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expect(job.spec.template.spec.containers[0].command.at(-1)).toBe('dist/processes/release.js');
  });

  it('scales each worker Deployment with its own ScaledObject on its own queues’ latency and recommendation, not on LLEN', async () => {
    const cm = named('ConfigMap', 'conveyor-config').data as Record<string, string>;
    const secretData = named('Secret', 'conveyor-secrets').stringData as Record<string, string>;
    const config = loadConfig({ ...cm, ...secretData });
    const scaled = byKind('ScaledObject');
    expect(scaled.map((o) => o.spec.scaleTargetRef.name).sort()).toEqual(WORKERS.map((w) => `conveyor-${w.deployment}`).sort());
    const t = await setup({ engine: cm.QUEUE_ENGINE as EngineName, METRICS_TOKEN: 'deploy-test-token-0123456789' });
    const metrics = await (
      await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: 'Bearer deploy-test-token-0123456789' } })
    ).text();
    const scaling = await t.api('GET', '/v1/scaling');
    for (const w of WORKERS) {
      const so = named('ScaledObject', `conveyor-${w.deployment}`);
      expect(so.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: `conveyor-${w.deployment}` });
      const type = config.WORKER_PROCESS_TYPES.find((p) => p.name === w.processType);
      expect(type, `${w.processType} is one of WORKER_PROCESS_TYPES`).toBeDefined();
      expect(`${so.spec.minReplicaCount}:${so.spec.maxReplicaCount}`).toBe(`${type?.replicas.min}:${type?.replicas.max}`);
      const triggers = so.spec.triggers as { type: string; metadata: Record<string, string>; authenticationRef?: { name: string } }[];
      const prom = triggers.find((tr) => tr.type === 'prometheus');
      expect(prom?.metadata.query).toMatch(/conveyor_queue_latency_seconds/);
      // the queues in the query are exactly the type's
      const queues = /queue=~"([^"]+)"/
        .exec(prom?.metadata.query ?? '')?.[1]
        ?.split('|')
        .sort();
      expect(queues, w.processType).toEqual(Object.keys(type?.queues ?? {}).sort());
      expect(prom?.metadata.threshold).toBe(cm.SCALING_TARGET_LATENCY_SECONDS);
      for (const tr of triggers) expect(JSON.stringify(tr).toLowerCase()).not.toMatch(/llen|:wait\b|redis/);
      const api = triggers.find((tr) => tr.type === 'metrics-api');
      expect(api?.metadata.url).toMatch(/\/v1\/scaling$/);
      expect(api?.metadata.valueLocation).toBe(`processTypes.${w.processType}.recommendedReplicas`);
      const auth = named('TriggerAuthentication', api?.authenticationRef?.name as string);
      const secret = named('Secret', auth.spec.secretTargetRef[0].name).stringData as Record<string, string>;
      expect(secret[auth.spec.secretTargetRef[0].key]).toBeDefined();
      // the metric and the JSON path they name exist in what Conveyor serves, on the engine the ConfigMap deploys
      const metricName = prom?.metadata.query?.match(/(conveyor_\w+)/)?.[1] as string;
      expect(metrics).toMatch(new RegExp(`^${metricName}\\{queue="${queues?.[0]}"\\} `, 'm'));
      const found = String(api?.metadata.valueLocation ?? '')
        .split('.')
        .reduce<any>((o, k) => o?.[k], scaling.body);
      expect(typeof found, api?.metadata.valueLocation).toBe('number');
      // the Deployment runs as that process type
      const [c] = named('Deployment', `conveyor-${w.deployment}`).spec.template.spec.containers;
      expect(c.env).toContainEqual({ name: 'WORKER_PROCESS_TYPE', value: w.processType });
    }
  });

  it('the pg-boss overlay: engine pgboss, each ScaledObject on the oldest ready job of its queues in pg-boss’s table', () => {
    const dir = join(DIR, 'overlays', 'pgboss');
    const load = (f: string) =>
      parseAllDocuments(readFileSync(join(dir, f), 'utf8'))
        .map((d) => d.toJS() as Obj | null)
        .filter((o): o is Obj => o !== null);
    const [k] = load('kustomization.yaml');
    expect(k?.resources).toContain('../../');
    for (const r of (k?.resources ?? []).filter((r: string) => !r.startsWith('..'))) expect(existsSync(join(dir, r)), r).toBe(true);
    const patches = (k?.patches ?? []).flatMap((p: { path: string }) => load(p.path));
    const cmPatch = patches.find((p: Obj) => p.kind === 'ConfigMap');
    const cm = { ...(named('ConfigMap', 'conveyor-config').data as Record<string, string>), ...cmPatch?.data };
    const secret = named('Secret', 'conveyor-secrets').stringData as Record<string, string>;
    const config = loadConfig({ ...cm, ...secret, REDIS_URL: '', DATABASE_URL: 'postgres://conveyor@db/conveyor' });
    expect(config.QUEUE_ENGINE).toBe('pgboss');
    const auths = (k?.resources ?? []).filter((r: string) => !r.startsWith('..')).flatMap(load);
    for (const w of WORKERS) {
      const so = patches.find((p: Obj) => p.kind === 'ScaledObject' && p.metadata.name === `conveyor-${w.deployment}`);
      expect(so, w.deployment).toBeDefined();
      named('ScaledObject', so.metadata.name); // patches what the base has
      const pg = so.spec.triggers.find((tr: { type: string }) => tr.type === 'postgresql');
      const type = config.WORKER_PROCESS_TYPES.find((p) => p.name === w.processType);
      const inList = /name IN \(([^)]+)\)/
        .exec(pg.metadata.query)?.[1]
        ?.split(',')
        .map((q: string) => q.trim().replace(/'/g, ''));
      expect(inList?.sort()).toEqual(Object.keys(type?.queues ?? {}).sort());
      expect(pg.metadata.query).toContain(`FROM ${pgbossSchemaFor(config.QUEUE_PREFIX)}.job`);
      expect(pg.metadata.targetQueryValue).toBe(cm.SCALING_TARGET_LATENCY_SECONDS);
      expect(auths.map((a: Obj) => a.metadata.name)).toContain(pg.authenticationRef.name);
      expect(so.spec.triggers.find((tr: { type: string }) => tr.type === 'metrics-api')?.metadata.valueLocation).toBe(
        `processTypes.${w.processType}.recommendedReplicas`,
      );
    }
  });

  it('scrapes /metrics with the bearer token from the secret', () => {
    for (const kind of ['ServiceMonitor', 'PodMonitor']) {
      for (const m of byKind(kind)) {
        const endpoints = m.spec.endpoints ?? m.spec.podMetricsEndpoints;
        for (const e of endpoints) {
          expect(e.path).toBe('/metrics');
          expect(e.authorization).toMatchObject({ type: 'Bearer', credentials: { name: 'conveyor-secrets', key: 'METRICS_TOKEN' } });
        }
      }
    }
  });
});
