// `npm run build` helper, plain Node (no tsx, no dependencies): `clean` empties dist/ so no stale file
// survives a rename; `assets` copies the files the code reads at runtime next to the compiled JavaScript
// (SQL, index templates, email templates: everything in the source folders that is not TypeScript, docs or
// the tsx-based CLI launcher), so `new URL('./sql/…', import.meta.url)` resolves the same from dist/.
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const SOURCES = ['core', 'workers', 'producers', 'dashboard', 'scheduler', 'processes', 'templates', 'cli'];
const SKIP = /\.(ts|md|mjs)$/;

function assets() {
  let copied = 0;
  for (const top of SOURCES) {
    for (const entry of readdirSync(join(root, top), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || SKIP.test(entry.name)) continue;
      const from = join(entry.parentPath, entry.name);
      cpSync(from, join(dist, relative(root, from)));
      copied++;
    }
  }
  console.log(`dist: ${copied} runtime assets copied`);
}

const step = process.argv[2];
if (step === 'clean') rmSync(dist, { recursive: true, force: true });
else if (step === 'assets') assets();
else {
  console.error('usage: node scripts/dist.mjs clean|assets');
  process.exit(2);
}
