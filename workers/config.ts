// Every setting comes from the environment, parsed once at boot: the kernel's sections (core/config/)
// and each job domain's (workers/<domain>/config.ts). The README's config table lists the same
// variables (test/readme.test.ts keeps the two in step).
import { z } from 'zod';
import { type KernelConfig, kernelSections, kernelShape, parseSections } from '../core/config/index.ts';
import { type EmailConfig, emailSection } from './email/config.ts';
import { type OpsConfig, opsSection } from './ops/config.ts';
import { type ReportsConfig, reportsSection } from './reports/config.ts';
import { type SearchConfig, searchSection } from './search/config.ts';

export { type ApiKeyConfig, ConfigError, type DashboardUserConfig, type KernelConfig } from '../core/config/index.ts';

const sections = [...kernelSections, emailSection, reportsSection, searchSection, opsSection];

export const configSchema = z.object({
  ...kernelShape,
  ...emailSection.shape,
  ...reportsSection.shape,
  ...searchSection.shape,
  ...opsSection.shape,
});

export type Config = KernelConfig & EmailConfig & ReportsConfig & SearchConfig & OpsConfig;

/** Parse the environment once. Empty strings count as unset. Throws one ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseSections(sections, env) as Config;
}
