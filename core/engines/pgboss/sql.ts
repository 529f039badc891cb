// The engine's SQL: one statement per file under sql/, each with a header naming its parameters and
// what it returns. Read once at import; `statements(schema)` puts the schema in for `{schema}`.
import { readdirSync, readFileSync } from 'node:fs';

const names = [
  'adopt-plain',
  'age-priorities',
  'cancel-job',
  'complete-with-outputs',
  'create-paused-table',
  'create-rate-table',
  'create-schedule-lock-table',
  'create-schedule-state-table',
  'create-schedule-table',
  'create-search-doc-function',
  'create-search-index-data',
  'create-search-index-time',
  'delete-job',
  'drop-search-index-envelope',
  'fail-cancelled',
  'fail-dead',
  'fail-retry',
  'first-failure',
  'get-job',
  'get-jobs',
  'install-lock',
  'install-unlock',
  'list-dead-letters',
  'list-jobs',
  'list-over-stalled',

  'mark-started',
  'notify',
  'pause-queue',
  'paused-queues',
  'ping',
  'promote-job',
  'queue-info',
  'rate-ensure',
  'rate-give-back',
  'rate-take',
  'recover-stalled',
  'release-jobs',
  'remove-job',
  'replace-delayed',
  'resume-queue',
  'retry-job',
  'search-jobs',
  'set-output-fields',
  'take-dead-letter',
  'trim-by-count',
] as const;

export type StatementName = (typeof names)[number];
export type Statements = Readonly<Record<StatementName, string>>;

/** The statement without its header comment (the header is for readers, not for every round trip). */
const body = (text: string) =>
  text
    .split('\n')
    .filter((line) => !line.startsWith('--'))
    .join('\n')
    .trim();

const dir = new URL('./sql/', import.meta.url);
const unlisted = readdirSync(dir).filter((f) => f.endsWith('.sql') && !(names as readonly string[]).includes(f.slice(0, -4)));
if (unlisted.length > 0) throw new Error(`pg-boss engine: sql/${unlisted.join(', ')} not listed in sql.ts`);
const templates = Object.fromEntries(names.map((name) => [name, body(readFileSync(new URL(`${name}.sql`, dir), 'utf8'))])) as Statements;

/** Every statement with `schema` in place of `{schema}` (validated by the engine: letters, digits, _). */
export function statements(schema: string): Statements {
  return Object.fromEntries(names.map((name) => [name, templates[name].replaceAll('{schema}', schema)])) as Statements;
}
