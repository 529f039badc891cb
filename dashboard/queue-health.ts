// The overview's "last hour" charts: per queue, runs finished a minute, the share that failed and the mean
// run time, as small server-rendered SVGs (no script). Every chart names its figures in `aria-label` and
// `<title>` (each bar has its own), shows them as text beside it, and the same numbers are in a table
// (five-minute buckets) below. Data: the throughput store's one-minute buckets (core/metrics/throughput.ts),
// written by every worker through the metrics hooks, on both engines.
import { type QueueMinute, readMinutes, type ThroughputStore } from '../core/metrics/throughput.ts';
import { html, type SafeHtml } from './html.ts';

export const HEALTH_MINUTES = 60;
const W = 180; // 3 px a minute
const H = 40;
const PLOT = 36; // bar height at the maximum; the rest is the baseline's room

export interface HealthSummary {
  runs: number;
  failed: number;
  /** failed / runs, 0 when nothing ran */
  failureRate: number;
  /** mean run time in ms, null when nothing ran */
  meanRunMs: number | null;
}

export function summarize(minutes: QueueMinute[]): HealthSummary {
  const runs = minutes.reduce((a, m) => a + m.finished, 0);
  const failed = minutes.reduce((a, m) => a + m.failed, 0);
  const runMs = minutes.reduce((a, m) => a + m.runMs, 0);
  return { runs, failed, failureRate: runs ? failed / runs : 0, meanRunMs: runs ? runMs / runs : null };
}

export const percent = (rate: number) => `${(100 * rate).toFixed(1)}%`;
export const millis = (ms: number | null) => (ms === null ? '–' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
const clock = (minute: number) => `${new Date(minute * 60_000).toISOString().slice(11, 16)} UTC`;
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** The per-queue minutes of the last hour, or null when the store did not answer (the page still renders). */
export async function readHealth(store: ThroughputStore, queues: string[], now = Date.now()) {
  return readMinutes(store, queues, HEALTH_MINUTES, now).catch(() => null);
}

interface Bar {
  /** 0..1 of the plot height */
  value: number;
  /** 0..1: the part drawn in the failure colour (throughput chart) */
  part?: number;
  title: string;
}

function chart(kind: string, label: string, bars: Bar[]): SafeHtml {
  const bw = W / Math.max(1, bars.length);
  const rects = bars.map((b, i) => {
    const h = b.value > 0 ? Math.max(1, b.value * PLOT) : 0;
    const ph = b.part && b.part > 0 ? Math.max(1, b.part * PLOT) : 0;
    const x = (i * bw).toFixed(1);
    const w = Math.max(1, bw - 0.6).toFixed(1);
    return html`<g><title>${b.title}</title><rect x="${x}" y="0" width="${w}" height="${H}" fill="transparent"></rect>${
      h ? html`<rect class="bar" x="${x}" y="${(H - h).toFixed(1)}" width="${w}" height="${h.toFixed(1)}"></rect>` : ''
    }${ph ? html`<rect class="bar-failed" x="${x}" y="${(H - ph).toFixed(1)}" width="${w}" height="${ph.toFixed(1)}"></rect>` : ''}</g>`;
  });
  return html`<svg class="chart chart-${kind}" role="img" aria-label="${label}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg"><title>${label}</title>
<line x1="0" y1="${H - 0.5}" x2="${W}" y2="${H - 0.5}" class="axis"></line>${rects}</svg>`;
}

function throughputChart(queue: string, minutes: QueueMinute[], s: HealthSummary): SafeHtml {
  const peak = Math.max(0, ...minutes.map((m) => m.finished));
  const label = `${queue} throughput, last hour: ${plural(s.runs, 'run')} (${s.failed} failed), peak ${peak} a minute`;
  return chart(
    'throughput',
    label,
    minutes.map((m) => ({
      value: peak ? m.finished / peak : 0,
      part: peak ? m.failed / peak : 0,
      title: `${clock(m.minute)}: ${plural(m.finished, 'run')}, ${m.failed} failed`,
    })),
  );
}

function failureChart(queue: string, minutes: QueueMinute[], s: HealthSummary): SafeHtml {
  const label = `${queue} failure rate, last hour: ${percent(s.failureRate)} (${s.failed} of ${plural(s.runs, 'run')})`;
  return chart(
    'failures',
    label,
    minutes.map((m) => ({
      value: m.finished ? m.failed / m.finished : 0,
      title: `${clock(m.minute)}: ${m.finished ? percent(m.failed / m.finished) : 'no runs'}${m.finished ? ` (${m.failed} of ${m.finished})` : ''}`,
    })),
  );
}

function runTimeChart(queue: string, minutes: QueueMinute[], s: HealthSummary): SafeHtml {
  const means = minutes.map((m) => (m.finished ? m.runMs / m.finished : null));
  const slowest = Math.max(0, ...means.map((v) => v ?? 0));
  const label = `${queue} mean run time, last hour: ${millis(s.meanRunMs)} (slowest minute ${millis(slowest || null)})`;
  return chart(
    'latency',
    label,
    minutes.map((m, i) => ({
      value: slowest && means[i] ? (means[i] as number) / slowest : 0,
      title: `${clock(m.minute)}: ${means[i] === null ? 'no runs' : `mean ${millis(means[i] as number)}`}`,
    })),
  );
}

function healthRow(queue: string, minutes: QueueMinute[]): SafeHtml {
  const s = summarize(minutes);
  const rate = percent(s.failureRate);
  return html`<tr data-queue="${queue}" data-runs="${s.runs}" data-failed="${s.failed}" data-failure-rate="${rate}"><td>${queue}</td>
<td>${throughputChart(queue, minutes, s)}<div class="figure runs">${plural(s.runs, 'run')}, ${(s.runs / HEALTH_MINUTES).toFixed(1)}/min</div></td>
<td>${failureChart(queue, minutes, s)}<div class="figure failure-rate">${rate} (${s.failed} failed)</div></td>
<td>${runTimeChart(queue, minutes, s)}<div class="figure mean-run">${millis(s.meanRunMs)} mean</div></td></tr>`;
}

/** Five-minute sums of the same minutes: the charts as text. */
function healthTable(health: Record<string, QueueMinute[]>): SafeHtml {
  const rows = Object.entries(health).flatMap(([queue, minutes]) => {
    const out: SafeHtml[] = [];
    for (let i = 0; i < minutes.length; i += 5) {
      const slice = minutes.slice(i, i + 5);
      const s = summarize(slice);
      if (s.runs === 0) continue;
      out.push(
        html`<tr><td>${queue}</td><td>${clock(slice[0]?.minute ?? 0)}</td><td>${s.runs}</td><td>${s.failed}</td><td>${percent(s.failureRate)}</td><td>${millis(s.meanRunMs)}</td></tr>`,
      );
    }
    return out;
  });
  return html`<details id="queue-health-table"><summary>The same as a table (five-minute buckets with runs)</summary>${
    rows.length
      ? html`<table><thead><tr><th>Queue</th><th>From</th><th>Runs</th><th>Failed</th><th>Failure rate</th><th>Mean run time</th></tr></thead><tbody>${rows}</tbody></table>`
      : html`<p class="muted">No runs finished in the last hour.</p>`
  }</details>`;
}

const STYLE = html`<style>
svg.chart{display:block;background:#fafbfc}svg.chart .axis{stroke:#ccd}svg.chart .bar{fill:#4a78c2}
svg.chart .bar-failed,svg.chart-failures .bar{fill:#c0392b}svg.chart-latency .bar{fill:#7a5cb8}.figure{font-size:12px;color:#445}
</style>`;

/** The overview's health section; `health` null: the store did not answer. */
export function healthSection(health: Record<string, QueueMinute[]> | null): SafeHtml {
  if (!health)
    return html`<h2>Last hour</h2><p class="error" id="queue-health-missing">The throughput store did not answer: no charts right now.</p>`;
  return html`${STYLE}<h2>Last hour</h2>
<p class="muted">Per minute, from every worker: runs finished (failed part in red), the share of runs that failed (an attempt that threw; retried attempts count, cancelled ones do not) and the mean run time. Hover a bar for its minute.</p>
<table id="queue-health"><thead><tr><th>Queue</th><th>Throughput</th><th>Failure rate</th><th>Run time</th></tr></thead>
<tbody>${Object.entries(health).map(([q, m]) => healthRow(q, m))}</tbody></table>${healthTable(health)}`;
}
