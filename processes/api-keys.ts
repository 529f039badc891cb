// API_KEYS, or outside production one development admin key kept under DATA_DIR (logged at boot).
import type { Logger } from 'pino';
import { devSecret } from '../core/dev-secrets.ts';
import { sha256 } from '../core/hash.ts';
import { generateApiKey } from '../producers/auth.ts';
import type { ApiKeyConfig, Config } from '../workers/config.ts';

/** Without API_KEYS (never in production: the config requires it there), one admin key kept under DATA_DIR. */
function devApiKeys(config: Config, logger: Logger): ApiKeyConfig[] {
  const { value: key, file } = devSecret(config, 'dev-api-key', () => generateApiKey().key);
  logger.warn({ file }, `API_KEYS is not set: development admin key is ${key} (Authorization: Bearer <key>)`);
  return [{ name: 'dev-admin', sha256: sha256(key), scopes: ['admin'] }];
}

export const apiKeysOf = (config: Config, logger: Logger): ApiKeyConfig[] => config.API_KEYS ?? devApiKeys(config, logger);
