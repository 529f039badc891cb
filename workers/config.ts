// Every setting comes from the environment, parsed once at boot: the kernel's sections (core/config/)
// and each job domain's (its manifest's `config`, workers/<domain>/config.ts). The README's config table
// lists the same variables (test/readme.test.ts keeps the two in step).
import { z } from 'zod';
import { type ConfigSection, kernelSections, parseSections } from '../core/config/index.ts';
import { resolveProcessTypes } from '../core/config/worker.ts';
import { type Config, domains } from './domains.ts';

export { type ApiKeyConfig, ConfigError, type DashboardUserConfig, type KernelConfig } from '../core/config/index.ts';
export type { Config } from './domains.ts';

const sections: ConfigSection<z.ZodRawShape, never>[] = [...kernelSections, ...domains.flatMap((d) => (d.config ? [d.config] : []))];

export const configSchema = z.object(Object.assign({}, ...sections.map((s) => s.shape)) as z.ZodRawShape);

/** Parse the environment once. Empty strings count as unset. Throws one ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const queueNames = domains.flatMap((d) => Object.keys(d.queues ?? {}));
  return resolveProcessTypes(parseSections(sections, env) as Config, queueNames);
}
