// Report definitions: each names its parameters (a zod schema, checked at enqueue), a parameterised SQL
// query against REPORTS_DATABASE_URL and the values bound to its placeholders. Parameters are only ever
// bound ($1, $2 …), never spliced into the SQL text. The query runs in a READ ONLY transaction.
// Producers read the schemas (via the catalog); workers run the SQL. This module imports nothing else.
import { z } from 'zod';

export interface ReportDefinition<P extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  /** a strict object schema; errors surface at enqueue as `data.params.<field>` */
  params: P;
  /** SQL with $1 … $n placeholders; its columns, in order, become the CSV header / JSON keys */
  sql: string;
  /** the values for $1 … $n */
  args(params: z.output<P>): unknown[];
  /** optional SQL returning one row `{ count }` with the same args, so progress can show a percentage */
  countSql?: string;
  /** the download's file name, without extension */
  filename(params: z.output<P>): string;
}

const define = <P extends z.ZodType>(d: ReportDefinition<P>) => d;

const isoDate = z.iso.date({ error: 'expects a date YYYY-MM-DD' });

/** Orders over the demo table (see core/reports/demo-data.ts); `npm start` seeds it in development. */
const demoOrders = define({
  name: 'demo.orders',
  description: 'Demo: orders created between two dates (inclusive), optionally by status and customer name.',
  params: z
    .strictObject({
      from: isoDate,
      to: isoDate,
      status: z.enum(['pending', 'paid', 'shipped', 'refunded']).optional(),
      /** case-insensitive substring of the customer name */
      customer: z.string().min(1).max(200).optional(),
    })
    .refine((p) => p.from <= p.to, { path: ['to'], message: 'expects a date on or after `from`' }),
  sql: `SELECT id, created_at, customer, email, country, status, amount, note
          FROM demo_orders
         WHERE created_at >= $1::date AND created_at < $2::date + 1
           AND ($3::text IS NULL OR status = $3::text)
           AND ($4::text IS NULL OR strpos(lower(customer), lower($4::text)) > 0)
         ORDER BY id`,
  countSql: `SELECT count(*) AS count
               FROM demo_orders
              WHERE created_at >= $1::date AND created_at < $2::date + 1
                AND ($3::text IS NULL OR status = $3::text)
                AND ($4::text IS NULL OR strpos(lower(customer), lower($4::text)) > 0)`,
  args: (p) => [p.from, p.to, p.status ?? null, p.customer ?? null],
  filename: (p) => `orders-${p.from}-to-${p.to}${p.status ? `-${p.status}` : ''}`,
});

/** Generated rows, no table needed: for trying the pipeline and for the benchmark (1 M rows). */
const demoSeries = define({
  name: 'demo.series',
  description: 'Demo: `rows` generated rows (n, hash, label); needs no table. Used by the benchmark.',
  params: z.strictObject({ rows: z.int().min(0).max(10_000_000) }),
  sql: `SELECT g AS n, md5(g::text) AS hash, 'row ' || g || ', "quoted"' AS label
          FROM generate_series(1, $1::int) AS g`,
  countSql: 'SELECT $1::int AS count',
  args: (p) => [p.rows],
  filename: (p) => `series-${p.rows}`,
});

export const reportDefinitions = [demoOrders, demoSeries] as const;
export type ReportName = (typeof reportDefinitions)[number]['name'];

export function reportDefinition(name: string): ReportDefinition | undefined {
  return (reportDefinitions as readonly ReportDefinition[]).find((d) => d.name === name);
}
