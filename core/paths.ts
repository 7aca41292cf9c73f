import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root folder (where package.json is), whatever the current directory. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Scratch space for generated test media, caches and local runs; git-ignored. */
export const TMP_DIR = resolve(PROJECT_ROOT, 'tmp');
