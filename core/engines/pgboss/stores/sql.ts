// The side stores' SQL: one statement per file under sql/ (beside the engine's own ../sql/), each with a
// header naming its parameters and what it returns. Read once at import; `storeStatements(schema, table)`
// puts in the engine's schema for `{schema}` and the store's table for `{table}`.
import { readdirSync, readFileSync } from 'node:fs';

const names = [
  'generations-advance',
  'generations-create',
  'generations-read',
  'groups-counts',
  'groups-create',
  'groups-free-many',
  'groups-held',
  'groups-override-get',
  'groups-override-put',
  'groups-override-remove',
  'groups-park-many',
  'groups-step',
  'audit-append',
  'audit-create',
  'audit-list',
  'audit-sweep',
  'ledger-claim',
  'ledger-commit',
  'ledger-create',
  'ledger-get',
  'ledger-read',
  'ledger-release',
  'ledger-sweep',
  'recent-clear',
  'recent-create',
  'recent-get',
  'recent-list',
  'recent-push',
  'reads-finished-since',
  'records-create',
  'records-get',
  'records-list',
  'records-put',
  'records-remove',
  'records-replace',
  'schedule-claim',
  'schedule-get',
  'schedule-list',
  'schedule-put',
  'schedule-record-fired',
  'schedule-remove',
  'schedule-states',
  'schedule-sweep-claims',
  'throughput-add',
  'throughput-add-minutes',
  'throughput-create',
  'throughput-prune',
  'throughput-prune-minutes',
  'throughput-minutes',
  'throughput-read',
] as const;

export type StoreStatements = Readonly<Record<(typeof names)[number], string>>;

const dir = new URL('./sql/', import.meta.url);
const unlisted = readdirSync(dir).filter((f) => f.endsWith('.sql') && !(names as readonly string[]).includes(f.slice(0, -4)));
if (unlisted.length > 0) throw new Error(`pg-boss stores: sql/${unlisted.join(', ')} not listed in stores/sql.ts`);
/** each statement without its header comment (the header is for readers, not for every round trip) */
const templates = names.map((name) => {
  const text = readFileSync(new URL(`${name}.sql`, dir), 'utf8');
  return [name, text.replace(/^--.*\n/gm, '').trim()] as const;
});

/** `schema` and `table` are ours (validated names), never user input. */
export function storeStatements(schema: string, table = ''): StoreStatements {
  return Object.fromEntries(
    templates.map(([name, t]) => [name, t.replaceAll('{schema}', schema).replaceAll('{table}', table)]),
  ) as StoreStatements;
}
