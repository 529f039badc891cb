// A benchmark section: a file test/bench/<name>.bench.ts whose default export runs it and returns rows.
// `npm run bench` runs every section (or those named on the command line) and prints one table.
export interface BenchRow {
  section: string;
  metric: string;
  /** our platform's figure */
  ours: number;
  /** the raw library's figure in the same run, when there is one */
  baseline?: number;
  unit: string;
  /** what we aim for, in words (`≥ 1.0× raw`, `p99 ≤ 15 ms`) */
  target?: string;
  /** whether the target was met, when it can be judged */
  met?: boolean;
}

export interface BenchContext {
  redisUrl: string;
  /** a short run (`--quick`) for smoke-checking the bench itself */
  quick: boolean;
  log(line: string): void;
}

export type BenchSection = (ctx: BenchContext) => Promise<BenchRow[]>;
