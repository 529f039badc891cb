// A process is a list of services, started in order and stopped in reverse order (the web server before
// the engine it enqueues on, the worker runtime before the handlers' connections, the engine before the
// local database it talks to). Shutdown is bounded as a whole: whatever a stop step does, the process is
// gone WORKER_SHUTDOWN_GRACE_MS + SHUTDOWN_MARGIN_MS after the signal, naming the step that hung.
import type { Logger } from 'pino';

export interface Service {
  name: string;
  start(): Promise<void>;
  /** stop taking work, finish what runs within `graceMs` (what is left of the process's grace), release resources */
  stop(graceMs: number): Promise<void>;
}

/** Past the grace, for the steps after the drain (closing connections, flushing spans); 25 s + 3 s fits a 30 s platform kill. */
export const SHUTDOWN_MARGIN_MS = 3_000;

/** A failure that ends the process with this exit code (78 configuration, 69 a dependency unavailable, …). */
export class ExitError extends Error {
  override name = 'ExitError';
  constructor(
    message: string,
    readonly exitCode: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A service from two functions; `stop` defaults to nothing to release. */
export function service(name: string, start: () => Promise<void>, stop: (graceMs: number) => Promise<void> = async () => {}): Service {
  return { name, start, stop };
}

/** A service whose start() opens something the next services use (the engine, the dashboard…): `value`, once started. */
export interface Resource<T> extends Service {
  readonly value: T;
}

export function resource<T>(name: string, open: () => Promise<T>, close: (value: T, graceMs: number) => Promise<void>): Resource<T> {
  let opened: { value: T } | undefined;
  return {
    name,
    get value(): T {
      if (!opened) throw new Error(`${name} is not started`);
      return opened.value;
    },
    async start() {
      opened = { value: await open() };
    },
    async stop(graceMs) {
      if (opened) await close(opened.value, graceMs);
    },
  };
}

export interface LifecycleOptions {
  logger: Logger;
  graceMs: number;
  marginMs?: number;
  /** how the process ends; process.exit unless a test says otherwise */
  exit?: (code: number) => void;
}

export class Lifecycle {
  private readonly started: Service[] = [];
  private starting: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private readonly exit: (code: number) => void;

  constructor(private readonly opts: LifecycleOptions) {
    this.exit = opts.exit ?? ((code) => process.exit(code));
  }

  /** Starts `s` and keeps it for shutdown; after a signal, refuses (the shutdown under way ends the process). */
  async start<S extends Service>(s: S): Promise<S> {
    if (this.stopping) throw new ExitError(`not starting ${s.name}: the process is stopping`, 0);
    const run = (async () => {
      await s.start();
      this.started.push(s);
    })();
    this.starting = run.catch(() => {});
    await run;
    return s;
  }

  /** SIGTERM / SIGINT: stop everything, then exit 0 (1 when a stop step failed or hung). */
  handleSignals(): void {
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.stopping) this.opts.logger.warn({ signal }, 'already stopping');
      else void this.shutdown(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  /**
   * Stops the started services in reverse order and exits with `code` (or 1 when a stop step failed).
   * A step that has not finished when grace + margin have passed since the call ends the process with 1.
   */
  async shutdown(reason: string, code = 0): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const { logger, graceMs } = this.opts;
    const marginMs = this.opts.marginMs ?? SHUTDOWN_MARGIN_MS;
    const began = Date.now();
    let current = '(a service still starting)';
    const deadline = setTimeout(() => {
      logger.fatal(
        { hung: current, waitedMs: Date.now() - began, graceMs, marginMs },
        `shutdown took longer than the grace: "${current}" did not stop in time; exiting`,
      );
      this.exit(1);
    }, graceMs + marginMs);
    if (reason.startsWith('SIG')) logger.info({ signal: reason, graceMs }, 'shutting down: no new work, finishing in-flight jobs');
    else logger.info({ reason, graceMs }, 'stopping');
    await this.starting;
    let failed = false;
    for (const s of [...this.started].reverse()) {
      current = s.name;
      try {
        await s.stop(Math.max(0, graceMs - (Date.now() - began)));
      } catch (err) {
        failed = true;
        logger.error({ err, service: s.name }, `stopping ${s.name} failed`);
      }
    }
    clearTimeout(deadline);
    logger.info({ ms: Date.now() - began }, 'stopped');
    this.exit(failed && code === 0 ? 1 : code);
  }
}
