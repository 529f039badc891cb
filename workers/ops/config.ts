// The ops domain's settings: where the daily dead-letter report goes (how long dead letters are kept,
// DEAD_LETTER_RETENTION_SECONDS, is the kernel's: the pg-boss engine applies it to each letter).
import { z } from 'zod';
import { defineSection, type KernelConfig, type SectionValues } from '../../core/config/index.ts';

export const opsSection = defineSection('ops', {
  OPS_EMAIL: z.email({ error: 'expects an email address' }).default('ops@example.com'),
});

/** What the ops domain reads: the kernel's settings and its own. */
export type OpsConfig = KernelConfig & SectionValues<typeof opsSection.shape>;
