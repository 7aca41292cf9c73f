/**
 * Writes the published JSON Schemas (schemas/*.json) from the zod schemas in dispatcher/ticket/schema.ts.
 * Run after changing a ticket schema, and commit the result:
 *   node bin/run-ts.js scripts/gen-schemas.ts          write the files
 *   node bin/run-ts.js scripts/gen-schemas.ts --check  exit 1 if a committed file is out of date
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PROJECT_ROOT } from '../core/paths.js';
import { renderJsonSchemas } from '../dispatcher/ticket/json-schema.js';

const check = process.argv.includes('--check');
let stale = 0;
for (const { path, text } of renderJsonSchemas()) {
  const abs = join(PROJECT_ROOT, path);
  const current = await readFile(abs, 'utf8').catch(() => undefined);
  if (current === text) {
    process.stdout.write(`${path}: up to date\n`);
  } else if (check) {
    process.stdout.write(`${path}: OUT OF DATE (run node bin/run-ts.js scripts/gen-schemas.ts)\n`);
    stale++;
  } else {
    await mkdir(dirname(abs), { recursive: true });
    await writeFile(abs, text);
    process.stdout.write(`${path}: written\n`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
