// The table `npm run chaos` prints: one row per engine and scenario, then why each failing row failed
// and what each scenario noted.

import type { ScenarioResult } from './scenario.ts';
import { verdict } from './scenario.ts';
import { formatStatuses } from './traffic.ts';

export interface Row {
  engine: string;
  scenario: string;
  /** set when the scenario does not apply to the engine */
  skipped?: string;
  /** set when the scenario could not run to the end (harness or platform error) */
  error?: string;
  result?: ScenarioResult;
  ms: number;
}

export const failed = (r: Row) => !r.skipped && (!!r.error || (r.result ? verdict(r.result).length > 0 : true));

function cells(r: Row): Record<string, string> {
  const base = { engine: r.engine, scenario: r.scenario };
  if (r.skipped) return { ...base, result: 'skip' };
  if (!r.result) return { ...base, result: 'ERROR', time: `${Math.round(r.ms / 1000)}` };
  const x = r.result;
  return {
    ...base,
    result: failed(r) ? 'FAIL' : 'pass',
    ack: String(x.acknowledged),
    done: String(x.completed),
    lost: String(x.lost),
    dup: String(x.duplicates),
    dead: String(x.dead),
    partial: x.partialBatches === undefined ? '-' : String(x.partialBatches),
    'mail×2': x.emailsTwice === undefined ? '-' : String(x.emailsTwice),
    'API during outage': formatStatuses(x.outage.statuses),
    p99: `${x.outage.p99}`,
    max: `${x.outage.max}`,
    '5xx': String(x.bad5xx),
    'recover s': x.recoverMs === null ? 'never' : (x.recoverMs / 1000).toFixed(1),
    time: `${Math.round(r.ms / 1000)}`,
  };
}

export function printReport(rows: Row[], header: string) {
  const table = rows.map(cells);
  const cols = [
    'engine',
    'scenario',
    'result',
    'ack',
    'done',
    'lost',
    'dup',
    'dead',
    'partial',
    'mail×2',
    'API during outage',
    'p99',
    'max',
    '5xx',
    'recover s',
    'time',
  ];
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(c.length, ...table.map((t) => (t[c] ?? '').length))]));
  const line = (t: Record<string, string>) =>
    cols
      .map((c) => (t[c] ?? '').padEnd(width[c] as number))
      .join('  ')
      .trimEnd();
  console.log(`\n${header}\n`);
  console.log(line(Object.fromEntries(cols.map((c) => [c, c]))));
  console.log(cols.map((c) => '-'.repeat(width[c] as number)).join('  '));
  for (const t of table) console.log(line(t));
  console.log(
    '\n(p99 and max: ms of API answers to requests started during the fault; 5xx: over the whole scenario, 503 + Retry-After excepted)',
  );
  for (const r of rows) {
    const label = `${r.engine} ${r.scenario}`;
    if (r.skipped) console.log(`- ${label}: skipped, ${r.skipped}`);
    else if (r.error) console.log(`- ${label}: ERROR ${r.error}`);
    else if (r.result) {
      const why = verdict(r.result);
      const { readyz, baseline } = r.result;
      const ready = readyz ? [`/readyz during the fault: ${formatStatuses(readyz.statuses)}`] : [];
      const before = baseline?.count ? [`before the fault: p99 ${baseline.p99} ms, max ${baseline.max} ms`] : [];
      const said = [...r.result.notes, ...before, ...ready].join('; ');
      console.log(`- ${label}: ${why.length ? `FAIL: ${why.join('; ')}` : 'pass'}${said ? ` (${said})` : ''}`);
    }
  }
}
