// API_KEYS, or outside production one development admin key kept under DATA_DIR (logged at boot).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { generateApiKey, sha256 } from '../producers/auth.ts';
import type { ApiKeyConfig, Config } from '../workers/config.ts';

/** Without API_KEYS outside production, one admin key is made and kept under DATA_DIR. */
function devApiKeys(config: Config, logger: Logger): ApiKeyConfig[] {
  const file = resolve(config.DATA_DIR, 'dev-api-key');
  let key: string;
  if (existsSync(file)) key = readFileSync(file, 'utf8').trim();
  else {
    mkdirSync(config.DATA_DIR, { recursive: true });
    key = generateApiKey().key;
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
  }
  logger.warn({ file }, `API_KEYS is not set: development admin key is ${key} (Authorization: Bearer <key>)`);
  return [{ name: 'dev-admin', sha256: sha256(key), scopes: ['admin'] }];
}

export const apiKeysOf = (config: Config, logger: Logger): ApiKeyConfig[] => config.API_KEYS ?? devApiKeys(config, logger);
