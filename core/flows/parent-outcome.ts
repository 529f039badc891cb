// A flow parent's outcome as its children see it (`ctx.parents[key]`, the `parents` field of HTTP-target
// posts; docs/flows.md). Its own module so the engine seam (JobMeta) can name it without importing the flows.

export type ParentOutcome =
  | { state: 'completed'; result: unknown }
  | { state: 'dead' | 'cancelled'; error: { message: string; name?: string } };
