// What the dashboard needs from feature modules that arrive separately (scheduler, email). Each is
// optional: a page whose source is missing says so instead of failing. createDashboard wires the real
// ones (the scheduler's: feature-sources.ts; the domains': their manifests) unless its deps pass others.

export interface ScheduleRow {
  name: string;
  kind: string;
  cron: string;
  timezone: string;
  paused: boolean;
  nextRuns: string[];
  lastRun?: { at: string; jobId?: string; state?: string; error?: string } | null;
}

export interface ScheduleSource {
  list(): Promise<ScheduleRow[]>;
  pause(name: string): Promise<void>;
  resume(name: string): Promise<void>;
}

export type { CaughtMail, EmailSource, TemplatePreview } from '../core/domain.ts';
