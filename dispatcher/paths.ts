import { join, resolve } from 'node:path';
import type { Config } from '../config/schema.js';

/**
 * Where a config's dispatch data lives: the store, the evidence root and the signing keys. One function, so
 * the pipeline (`run`) and a console on its own (`console`) open the same files.
 */
export function dispatchPaths(config: Config, baseDir: string): { dataDir: string; storeFile: string; evidenceRoot: string; keysDir: string } {
  const dataDir = resolve(baseDir, config.storage.dataDir);
  return {
    dataDir,
    storeFile: join(dataDir, 'streetwatch.db'),
    evidenceRoot: config.evidence.root ? resolve(baseDir, config.evidence.root) : join(dataDir, 'evidence'),
    keysDir: config.evidence.keysDir ? resolve(baseDir, config.evidence.keysDir) : join(dataDir, 'keys'),
  };
}
