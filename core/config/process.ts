// Process-wide settings every process type reads.
import { z } from 'zod';
import { defineSection } from './section.ts';

export const processSection = defineSection('process', {
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** development state: local Redis/PostgreSQL data, generated development secrets (core/dev-secrets.ts) */
  DATA_DIR: z.string().min(1).default('.data'),
});
