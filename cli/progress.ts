// The progress line shown while `--wait` polls a job: a bar from the job's progress (a number 0-100, or
// an object with `percent`), its state and the time waited.

export function progressPercent(progress: unknown): number | undefined {
  const p = typeof progress === 'number' ? progress : (progress as { percent?: unknown } | null)?.percent;
  return typeof p === 'number' && Number.isFinite(p) ? Math.min(100, Math.max(0, p)) : undefined;
}

export function renderProgress(job: { id: string; state: string; progress: unknown }, elapsedMs: number, width = 30): string {
  const pct = job.state === 'completed' ? 100 : progressPercent(job.progress);
  const filled = pct === undefined ? 0 : Math.round((pct / 100) * width);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
  const pctText = pct === undefined ? '  ?%' : `${String(Math.round(pct)).padStart(3)}%`;
  return `[${bar}] ${pctText} ${job.state.padEnd(9)} ${(elapsedMs / 1000).toFixed(1)}s  ${job.id}`;
}
