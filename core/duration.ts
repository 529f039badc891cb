// Durations on the wire: a number of milliseconds (as `delay` and `timeout` beside it), or a string a
// person writes: "90s", "30m", "6h", "2d", "1500ms", or ISO-8601 "PT6H", "P1DT12H".
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SHORT = /^(\d{1,9})(ms|s|m|h|d)$/;
const ISO = /^P(?:(\d{1,6})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,6})M)?(?:(\d{1,6})S)?)?$/;

/** ms in a duration string, or undefined when it is not one of the accepted forms */
export function parseDuration(text: string): number | undefined {
  const short = SHORT.exec(text);
  if (short) return Number(short[1]) * (UNIT_MS[short[2] as string] as number);
  const iso = ISO.exec(text);
  if (!iso || text === 'P' || text.endsWith('T')) return undefined;
  const [, d, h, m, s] = iso.map((v) => Number(v ?? 0));
  return (((d as number) * 24 + (h as number)) * 60 + (m as number)) * 60_000 + (s as number) * 1_000;
}

/** "6h", "90m", "2.5s": for log lines and reasons */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1_000) return `${Math.round(ms / 100) / 10}s`;
  return `${Math.round(ms)}ms`;
}
