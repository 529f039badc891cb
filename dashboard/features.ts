// What the dashboard needs from feature modules that arrive separately (scheduler, email). Each is
// optional: a page whose source is missing says so instead of failing. createDashboard wires the real
// ones (feature-sources.ts) unless its deps pass others.

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

export interface TemplatePreview {
  subject: string;
  html: string;
  text?: string;
}

export interface CaughtMail {
  id: string;
  to: string;
  subject: string;
  at: string;
  html?: string;
  text?: string;
}

export interface EmailSource {
  listTemplates(): Promise<string[]> | string[];
  /** renders a template with the given vars, or its sample vars when none are given */
  renderPreview(name: string, vars?: Record<string, unknown>): Promise<TemplatePreview>;
  /** sample vars for the form; optional */
  sampleVars?(name: string): Promise<Record<string, unknown>> | Record<string, unknown>;
  /** development mail catcher; absent in production */
  listCaughtMail?(): Promise<CaughtMail[]>;
}
