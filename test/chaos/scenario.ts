// What a chaos scenario is, what it measures, and how a run passes. Every scenario keeps a ledger of the
// logical jobs it sent (a unique key per job, carried in the payload), asks the inventory what the store
// really holds for those keys once things settle, and turns the two into the printed numbers.
import { randomBytes } from 'node:crypto';
import { type Harness, sleep } from './harness.ts';
import type { EngineName, InventoryResult, Platform, Services } from './platform.ts';
import { type Answer, bad5xx, ok, type WindowStats, windowStats } from './traffic.ts';

export interface ScenarioContext {
  h: Harness;
  platform: Platform;
  services: Services;
  engine: EngineName;
  /** CHAOS_SCALE: 1 in CI, 10 for a longer run; scenario counts and outage lengths grow with it */
  scale: number;
  log(line: string): void;
  /** the API answers recorded since this scenario began */
  answers(): Answer[];
}

export interface Scenario {
  name: string;
  /** why it does not apply to this engine; undefined when it does */
  skip(engine: EngineName): string | undefined;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

export interface ScenarioResult {
  acknowledged: number;
  completed: number;
  lost: number;
  duplicates: number;
  dead: number;
  partialBatches?: number;
  emailsTwice?: number;
  /** API answers to requests started while the fault lasted */
  outage: WindowStats;
  /** readiness answers while the fault lasted, when the scenario watches them */
  readyz?: WindowStats;
  /** API answers in the seconds before the fault: what "fast" means on this machine right now */
  baseline?: WindowStats;
  /** 5xx (other than 503 + Retry-After) over the whole scenario, outage or not */
  bad5xx: number;
  /** from the end of the fault until every acknowledged job had finished; null: never within the deadline */
  recoverMs: number | null;
  /** extra pass conditions of this scenario (e.g. "/readyz stays 200 while SMTP is down") */
  failures: string[];
  notes: string[];
}

/** Logical jobs of one scenario: keys are `<scenario>-<random>-<n>`, so the inventory finds exactly these. */
export class Ledger {
  readonly prefix: string;
  readonly sent = new Set<string>();
  readonly acked = new Set<string>();

  /** `suffix` completes a key into what the payload carries (`@chaos.test` for an email address) */
  constructor(
    scenario: string,
    readonly suffix = '',
  ) {
    this.prefix = `${scenario}-${randomBytes(3).toString('hex')}-`;
  }

  key(n: number) {
    const k = `${this.prefix}${n}${this.suffix}`;
    this.sent.add(k);
    return k;
  }

  /** note the keys an answer acknowledged (one job, or every job of a bulk batch) */
  take(a: Answer, keys: string[] = [a.key]) {
    if (ok(a)) for (const k of keys) this.acked.add(k);
    return a;
  }

  unacked(): string[] {
    return [...this.sent].filter((k) => !this.acked.has(k));
  }
}

/** The scenario's numbers from its ledger and what the store holds. */
export function account(ledger: Ledger, inv: InventoryResult) {
  const stored = new Map<string, number>();
  const completed = new Set<string>();
  const dead = new Set(inv.deadLetters);
  for (const j of inv.jobs) {
    stored.set(j.key, (stored.get(j.key) ?? 0) + 1);
    if (j.state === 'completed') completed.add(j.key);
    if (j.state === 'dead') dead.add(j.key);
  }
  const acked = [...ledger.acked];
  const done = acked.filter((k) => completed.has(k));
  const died = acked.filter((k) => !completed.has(k) && dead.has(k));
  const reasons = new Map<string, number>();
  for (const k of died) {
    const why = inv.deadReasons.get(k) ?? '?';
    reasons.set(why, (reasons.get(why) ?? 0) + 1);
  }
  return {
    acknowledged: acked.length,
    completed: done.length,
    dead: died.length,
    /** why the acknowledged jobs that died did, with counts */
    deadReasons: [...reasons].map(([why, n]) => `${n} × ${why}`).join('; '),
    lost: acked.length - done.length - died.length,
    /** acknowledged keys the store does not hold at all (the rest of `lost` is stuck) */
    missing: acked.filter((k) => !stored.has(k)).length,
    duplicates: [...stored.values()].reduce((n, c) => n + Math.max(0, c - 1), 0),
    /** stored but never acknowledged, even after the retries */
    unacknowledgedStored: [...stored.keys()].filter((k) => !ledger.acked.has(k)).length,
  };
}

/** at most this many resend rounds, whatever the deadline */
const MAX_ROUNDS = 200;

/** ms a refusal asks the client to wait (Retry-After, seconds or a date), 0 when it says nothing */
export function retryAfterMs(a: Answer, now = Date.now()): number {
  if (!a.retryAfter) return 0;
  const s = Number(a.retryAfter);
  const ms = Number.isFinite(s) ? s * 1000 : Date.parse(a.retryAfter) - now;
  return Number.isFinite(ms) ? Math.max(0, Math.min(ms, 10_000)) : 0;
}

/**
 * How long a client waits before its next resend round: what the server asked (Retry-After), else a
 * backoff of 100 ms doubling to 2 s; never past the deadline.
 */
export function nextPause(round: number, hintMs: number, deadline: number): number {
  const backoff = Math.min(2_000, 100 * 2 ** Math.min(round, 5));
  return Math.max(0, Math.min(Math.max(hintMs, backoff), deadline - Date.now()));
}

/**
 * Resend every unacknowledged key (as a client with a retry loop would) until acknowledged, the deadline
 * or MAX_ROUNDS; between rounds it waits as told by the refusals (nextPause), not a fixed interval.
 */
export async function retryUnacked(ledger: Ledger, send: (key: string) => Promise<Answer>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let rounds = 0;
  while (ledger.unacked().length > 0 && Date.now() < deadline && rounds < MAX_ROUNDS) {
    const keys = ledger.unacked();
    let hint = 0;
    for (let i = 0; i < keys.length; i += 20) {
      const answers = await Promise.all(keys.slice(i, i + 20).map((k) => send(k).then((a) => ledger.take(a))));
      for (const a of answers) hint = Math.max(hint, retryAfterMs(a));
    }
    if (ledger.unacked().length > 0) await sleep(nextPause(rounds, hint, deadline));
    rounds++;
  }
  return { rounds, stillUnacked: ledger.unacked().length };
}

/** Standard result: the ledger accounted against the inventory, the outage window's answers. */
export function resultOf(
  ledger: Ledger,
  inv: InventoryResult,
  answers: Answer[],
  /** the fault lasted from `from` to `to`; traffic began at `before` (the baseline), when given */
  window: { from: number; to: number; before?: number },
  settle: { settled: boolean; at: number },
  extra: Partial<ScenarioResult> = {},
): ScenarioResult {
  const a = account(ledger, inv);
  const notes = [...(extra.notes ?? [])];
  if (a.missing > 0) notes.push(`${a.missing} acknowledged jobs are not in the store at all`);
  if (a.dead > 0) notes.push(`dead: ${a.deadReasons}`);
  if (a.lost > a.missing) notes.push(`${a.lost - a.missing} acknowledged jobs never finished`);
  if (a.unacknowledgedStored > 0) notes.push(`${a.unacknowledgedStored} stored jobs were never acknowledged`);
  return {
    acknowledged: a.acknowledged,
    completed: a.completed,
    lost: a.lost,
    duplicates: a.duplicates,
    dead: a.dead,
    outage: windowStats(answers, window.from, window.to),
    baseline: window.before === undefined ? undefined : windowStats(answers, window.before, window.from - 1),
    bad5xx: answers.filter(bad5xx).length,
    recoverMs: settle.settled ? Math.max(0, settle.at - window.to) : null,
    failures: [],
    ...extra,
    notes,
  };
}

/** Why a result fails; empty when it passes. */
export function verdict(r: ScenarioResult): string[] {
  const why = [...r.failures];
  if (r.lost > 0) why.push(`${r.lost} acknowledged jobs lost`);
  if (r.dead > 0) why.push(`${r.dead} jobs dead-lettered by the fault`);
  if (r.duplicates > 0) why.push(`${r.duplicates} jobs stored twice`);
  if (r.partialBatches) why.push(`${r.partialBatches} bulk batches stored in part`);
  if (r.emailsTwice) why.push(`${r.emailsTwice} emails sent twice`);
  if (r.bad5xx > 0) why.push(`${r.bad5xx} answers 5xx (not 503 + Retry-After)`);
  if (r.outage.slow > 0) why.push(`${r.outage.slow} answers slower than 2 s during the outage (max ${r.outage.max} ms)`);
  return why;
}
