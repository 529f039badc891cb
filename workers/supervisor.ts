// `worker` (or a `worker_*` process type) with WORKER_AUTOSCALE=min:max: a supervisor that runs no jobs itself but keeps between min
// and max worker child processes, following the same scaling signal as GET /v1/scaling.
// Scale-up waits WORKER_AUTOSCALE_UP_COOLDOWN_MS since the last change; scale-down waits until the
// recommendation has stayed below the current count for WORKER_AUTOSCALE_DOWN_COOLDOWN_MS and then goes
// to the highest recommendation seen in that time (hysteresis). A child is scaled down with SIGTERM:
// it stops fetching and finishes its running jobs within WORKER_SHUTDOWN_GRACE_MS, exactly as on a
// platform shutdown; the supervisor never kills a child.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from 'pino';
import { Gauge } from 'prom-client';
import type { Backend } from '../core/backend.ts';
import { processRegistry } from '../core/metrics/job-metrics.ts';
import { type ProcessTypeSignal, queuesOf } from '../core/metrics/scaling.ts';
import { readScaling } from '../core/metrics/scaling-reader.ts';
import { askChildMetrics, startWorkerInstrumentation } from '../core/metrics/worker-server.ts';
import { catalogView, queues } from './catalog.ts';
import type { ApiKeyConfig, Config } from './config.ts';
import { readinessChecks } from './domains.ts';

export interface ScaleState {
  current: number;
  lastChangeAt: number;
  /** since when the recommendation has been below `current` */
  belowSince?: number;
  /** the highest recommendation seen since `belowSince` */
  belowMax?: number;
}

export interface ScalePolicy {
  min: number;
  max: number;
  upCooldownMs: number;
  downCooldownMs: number;
}

/** Pure: the replica count to run now, given the recommendation and what happened before. */
export function decideReplicas(state: ScaleState, recommended: number, now: number, policy: ScalePolicy): ScaleState {
  const target = Math.min(policy.max, Math.max(policy.min, recommended));
  if (target > state.current) {
    if (now - state.lastChangeAt < policy.upCooldownMs) return { ...state, belowSince: undefined, belowMax: undefined };
    return { current: target, lastChangeAt: now };
  }
  if (target === state.current) return { current: state.current, lastChangeAt: state.lastChangeAt };
  const belowSince = state.belowSince ?? now;
  const belowMax = Math.max(state.belowMax ?? target, target);
  if (now - belowSince >= policy.downCooldownMs && now - state.lastChangeAt >= policy.downCooldownMs) {
    return { current: belowMax, lastChangeAt: now };
  }
  return { ...state, belowSince, belowMax };
}

interface Child {
  proc: ChildProcess;
  draining: boolean;
  exited: Promise<void>;
}

export interface RunningSupervisor {
  /** drain every child (SIGTERM: each finishes its running jobs within its grace) and wait for them to exit */
  stop(): Promise<void>;
}

/** The worker children: spawn one, drain one (SIGTERM), count them by state for the metrics. */
function childPool(logger: Logger, isStopping: () => boolean) {
  const children = new Set<Child>();
  const childGauge = new Gauge({
    name: 'conveyor_supervisor_children',
    help: 'Worker child processes of this supervisor, by state (running | draining)',
    labelNames: ['state'],
    registers: [processRegistry],
    collect() {
      const all = [...children];
      this.set({ state: 'running' }, all.filter((c) => !c.draining).length);
      this.set({ state: 'draining' }, all.filter((c) => c.draining).length);
    },
  });
  void childGauge;
  const spawnChild = () => {
    // the same entry as this process (processes/worker.ts), without WORKER_AUTOSCALE
    const proc = spawn(process.execPath, [...process.execArgv, process.argv[1] as string], {
      env: { ...process.env, WORKER_AUTOSCALE: '', WORKER_METRICS_PORT: '', CONVEYOR_SUPERVISED: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const child: Child = {
      proc,
      draining: false,
      exited: new Promise((resolve) => {
        proc.once('exit', (code, signal) => {
          children.delete(child);
          const level = child.draining || isStopping() ? 'info' : 'error';
          logger[level]({ pid: proc.pid, code, signal, drained: child.draining }, 'worker child exited');
          resolve();
        });
      }),
    };
    proc.once('error', (err) => logger.error({ err: err.message }, 'could not start a worker child'));
    children.add(child);
    logger.info({ pid: proc.pid }, 'worker child started');
  };
  const drainChild = (child: Child) => {
    child.draining = true;
    logger.info({ pid: child.proc.pid }, 'draining worker child (SIGTERM: finish running jobs, then exit)');
    child.proc.kill('SIGTERM');
  };
  const running = () => [...children].filter((c) => !c.draining);
  return { children, spawnChild, drainChild, running };
}

function logScaling(logger: Logger, from: number, to: number, s: ProcessTypeSignal) {
  logger.info(
    { from, to, recommended: s.recommendedReplicas, latencySeconds: s.latencySeconds, depth: s.depth, reason: s.reason },
    'scaling worker children',
  );
}

/**
 * What a supervisor scales on: its own process type (WORKER_PROCESS_TYPE, else `worker`) over the queues
 * it runs (WORKER_QUEUES, which WORKER_PROCESS_TYPE sets), so its signal is that queue set's, as
 * GET /v1/scaling reports it for the type.
 */
export function supervisedType(config: Pick<Config, 'WORKER_PROCESS_TYPE' | 'WORKER_QUEUES'>, bounds: { min: number; max: number }) {
  const type = config.WORKER_PROCESS_TYPE ?? 'worker';
  return { type, processTypes: { [type]: { queues: queuesOf(config.WORKER_QUEUES, queues), min: bounds.min, max: bounds.max } } };
}

export async function startSupervisor(deps: {
  config: Config;
  logger: Logger;
  backend: Backend;
  apiKeys: ApiKeyConfig[];
}): Promise<RunningSupervisor> {
  const { config, backend } = deps;
  const bounds = config.WORKER_AUTOSCALE as { min: number; max: number };
  const logger = deps.logger.child({ role: 'supervisor' });
  const policy: ScalePolicy = {
    ...bounds,
    upCooldownMs: config.WORKER_AUTOSCALE_UP_COOLDOWN_MS,
    downCooldownMs: config.WORKER_AUTOSCALE_DOWN_COOLDOWN_MS,
  };
  const { type, processTypes } = supervisedType(config, bounds);
  let stopping = false;
  const { children, spawnChild, drainChild, running } = childPool(logger, () => stopping);
  let askId = 0;
  const instrumentation = await startWorkerInstrumentation({
    ...deps,
    catalog: catalogView,
    readiness: readinessChecks,
    extraMetrics: async () =>
      (await Promise.all([...children].map((c) => askChildMetrics(c.proc, ++askId)))).filter((m) => m !== undefined),
  });

  let state: ScaleState = { current: bounds.min, lastChangeAt: Date.now() };
  const apply = () => {
    const live = running();
    for (let i = live.length; i < state.current; i++) spawnChild(); // also replaces a child that died
    // the newest children go first: the oldest have warmed up and hold the longest-running jobs
    for (const child of live.slice(state.current).reverse()) drainChild(child);
  };
  apply();

  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    try {
      const { signal } = await readScaling({
        engine: backend.engine,
        throughput: instrumentation.throughput,
        config,
        catalog: catalogView,
        processTypes,
      });
      const s = signal.processTypes[type];
      if (s && !stopping) {
        const next = decideReplicas(state, s.recommendedReplicas, Date.now(), policy);
        if (next.current !== state.current) logScaling(logger, state.current, next.current, s);
        state = next;
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'scaling signal unavailable; keeping the current children');
    }
    if (!stopping) apply();
    if (!stopping) timer = setTimeout(() => void tick(), config.WORKER_AUTOSCALE_INTERVAL_MS);
  };
  timer = setTimeout(() => void tick(), config.WORKER_AUTOSCALE_INTERVAL_MS);
  logger.info({ ...bounds, processType: type, queues: Object.keys(processTypes[type]?.queues ?? {}) }, 'worker supervisor started');

  return {
    async stop() {
      if (stopping) return;
      stopping = true;
      clearTimeout(timer);
      logger.info({ children: children.size }, 'supervisor stopping: draining every child');
      const all = [...children];
      for (const c of all) if (!c.draining) drainChild(c);
      await Promise.all(all.map((c) => c.exited));
      await instrumentation.close();
      logger.info('supervisor stopped');
    },
  };
}
