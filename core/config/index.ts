// The kernel's configuration: the sections core/ and the process types read. Each job domain adds its
// own section (workers/<domain>/config.ts); workers/config.ts assembles the full schema and loadConfig.
import { groupsSection } from '../groups/config.ts';
import { dashboardSection } from './dashboard.ts';
import { engineSection } from './engine.ts';
import { operationsSection } from './operations.ts';
import { outboundSection } from './outbound.ts';
import { processSection } from './process.ts';
import { schedulerSection } from './scheduler.ts';
import type { SectionValues } from './section.ts';
import { serverSection } from './server.ts';
import { workerSection } from './worker.ts';

export type { DashboardUserConfig } from './dashboard.ts';
export { bool, httpUrl, int, jsonArray, postgresUrl } from './fields.ts';
export { signingSecret } from './outbound.ts';
export {
  type ConfigCheck,
  ConfigError,
  type ConfigProblem,
  type ConfigSection,
  defineSection,
  parseSections,
  type SectionValues,
} from './section.ts';
export type { ApiKeyConfig } from './server.ts';

export const kernelSections = [
  processSection,
  serverSection,
  engineSection,
  workerSection,
  operationsSection,
  dashboardSection,
  schedulerSection,
  outboundSection,
  groupsSection,
] as const;

export const kernelShape = {
  ...processSection.shape,
  ...serverSection.shape,
  ...engineSection.shape,
  ...workerSection.shape,
  ...operationsSection.shape,
  ...dashboardSection.shape,
  ...schedulerSection.shape,
  ...outboundSection.shape,
  ...groupsSection.shape,
};

/** What kernel code reads; QUEUE_ENGINE is always resolved (REDIS_URL set → bullmq, else pgboss). */
export type KernelConfig = Omit<SectionValues<typeof kernelShape>, 'QUEUE_ENGINE'> & { QUEUE_ENGINE: 'bullmq' | 'pgboss' };
