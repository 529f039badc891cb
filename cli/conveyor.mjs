#!/usr/bin/env node
// `conveyor` CLI entry (package.json "bin"): registers tsx so the TypeScript sources run on any Node
// that npm installed, then runs cli/main.ts.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
