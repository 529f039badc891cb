// Email rendering: our path (MJML compiled once at boot, then placeholders filled with escaping) vs
// compiling the MJML on every send (the raw library used naively: fill the MJML, then mjml2html).
import { readFile } from 'node:fs/promises';
import mjml2html from 'mjml';
import { templateDir } from '../../templates/index.ts';
import { compilePlaceholders, escapeHtml } from '../../workers/email/placeholders.ts';
import { compileTemplates, mjmlOptions, renderEmail } from '../../workers/email/templates.ts';
import type { BenchSection } from './types.ts';

const TEMPLATE = 'report-ready' as const;

/** Run `fn` repeatedly for about `ms` (at least `min` times); renders per second. */
async function rate(ms: number, min: number, fn: (i: number) => unknown): Promise<number> {
  let n = 0;
  const start = performance.now();
  while (n < min || performance.now() - start < ms) {
    await fn(n);
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

const section: BenchSection = async (ctx) => {
  const templates = await compileTemplates();
  const source = await readFile(new URL('template.mjml', templateDir(TEMPLATE)), 'utf8');
  const fillMjml = compilePlaceholders(source, escapeHtml);
  const varsFor = (i: number) => ({
    reportName: `Orders by region #${i} <${i}>`,
    url: `https://app.example.com/v1/reports/r_${i}/download?sig=abc`,
    expiresAt: '2026-12-26T00:00:00Z',
    expiresAtText: '26 Dec 2026, 00:00 UTC',
  });

  // warm both paths
  for (let i = 0; i < 3; i++) {
    renderEmail(templates, TEMPLATE, varsFor(i));
    await mjml2html(fillMjml(varsFor(i)), mjmlOptions);
  }
  // Both sides end with the HTML encoded to bytes (what the transport does), so neither leaves work undone.
  const precompiled = await rate(ctx.quick ? 300 : 2_000, 100, (i) => Buffer.byteLength(renderEmail(templates, TEMPLATE, varsFor(i)).html));
  const perSend = await rate(ctx.quick ? 500 : 3_000, 5, async (i) =>
    Buffer.byteLength((await mjml2html(fillMjml(varsFor(i)), mjmlOptions)).html),
  );
  const ratio = precompiled / perSend;
  ctx.log(`precompiled ${Math.round(precompiled)} renders/s, compile-per-send ${perSend.toFixed(1)} renders/s, ${ratio.toFixed(0)}×`);
  return [
    {
      section: 'email',
      metric: `render ${TEMPLATE} (precompiled vs compile-per-send)`,
      ours: precompiled,
      baseline: perSend,
      unit: 'renders/s',
      target: '≥ 100× compile-per-send',
      met: ratio >= 100,
    },
  ];
};

export default section;
