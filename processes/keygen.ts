// `npm run keygen`: prints a new API key and the API_KEYS entry (its SHA-256) to configure.
import { generateApiKey } from '../producers/auth.ts';

const { key, sha256 } = generateApiKey();
console.log(`key:     ${key}\nAPI_KEYS entry: ${JSON.stringify({ name: 'CHANGE-ME', sha256, scopes: ['admin'] })}`);
