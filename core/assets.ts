import { existsSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { StreetwatchError } from './errors.js';
import { PROJECT_ROOT } from './paths.js';

/**
 * Models and media are never committed. A named asset (a file name such as `yolox_nano_416.onnx`) is looked
 * up, in order, in:
 *   1. every folder in $STREETWATCH_ASSETS (path-list, `:`-separated),
 *   2. ../shared/models and ../shared/media beside the project,
 *   3. the local cache that `npm run fetch-assets` fills (.cache/assets, or $STREETWATCH_ASSET_CACHE).
 */
export function assetSearchPath(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = (env.STREETWATCH_ASSETS ?? '').split(delimiter).filter(Boolean).map((p) => resolve(p));
  return [...fromEnv, resolve(PROJECT_ROOT, '../shared/models'), resolve(PROJECT_ROOT, '../shared/media'), assetCacheDir(env)];
}

export function assetCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.STREETWATCH_ASSET_CACHE ?? join(PROJECT_ROOT, '.cache', 'assets'));
}

/** Finds `name` on the search path, or undefined. */
export function findAsset(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of assetSearchPath(env)) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Finds `name` on the search path, or throws ASSET_NOT_FOUND listing where it looked and what to do. */
export function resolveAsset(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const found = findAsset(name, env);
  if (found) return found;
  throw new StreetwatchError(
    'ASSET_NOT_FOUND',
    `asset '${name}' not found; looked in: ${assetSearchPath(env).join(', ')}. ` +
      `Put it in one of those folders, set STREETWATCH_ASSETS to the folder that has it, or run 'npm run fetch-assets'.`,
    { details: { asset: name } },
  );
}

/** Resolves a path from a config file: `asset:<name>` through the resolver, anything else relative to `baseDir`. */
export function resolveConfigPath(p: string, baseDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (p.startsWith('asset:')) return resolveAsset(p.slice('asset:'.length), env);
  return isAbsolute(p) ? p : resolve(baseDir, p);
}
