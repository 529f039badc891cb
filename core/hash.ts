// SHA-256 in hex: API keys and METRICS_TOKEN are compared by their hashes (long random strings need no
// password stretching, and looking a hash up in a map leaks nothing about the key).
import { createHash } from 'node:crypto';

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
