import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assetCacheDir, assetSearchPath, findAsset, resolveAsset, resolveConfigPath } from '../../../core/assets.js';
import { StreetwatchError } from '../../../core/errors.js';
import { PROJECT_ROOT } from '../../../core/paths.js';

const SHARED_MODELS = resolve(PROJECT_ROOT, '../shared/models');
const SHARED_MEDIA = resolve(PROJECT_ROOT, '../shared/media');
// A real file in ../shared, so "../shared beats the cache" is tested against the real layout.
const REAL_MODEL = 'yolox_nano_416.onnx';

let tmp: string;
let envDirA: string;
let envDirB: string;
let cache: string;

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'streetwatch-assets-'));
  envDirA = join(tmp, 'a');
  envDirB = join(tmp, 'b');
  cache = join(tmp, 'cache');
  for (const d of [envDirA, envDirB, cache]) mkdirSync(d);
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe('asset resolver', () => {
  it('searches STREETWATCH_ASSETS (in order), then ../shared/models, ../shared/media, then the cache', () => {
    const env = { STREETWATCH_ASSETS: [envDirA, envDirB].join(delimiter), STREETWATCH_ASSET_CACHE: cache };
    expect(assetSearchPath(env)).toEqual([envDirA, envDirB, SHARED_MODELS, SHARED_MEDIA, cache]);
    expect(assetCacheDir(env)).toBe(cache);
  });

  it('prefers a copy on STREETWATCH_ASSETS over the one in ../shared', () => {
    writeFileSync(join(envDirB, REAL_MODEL), 'local copy');
    expect(findAsset(REAL_MODEL, { STREETWATCH_ASSET_CACHE: cache })).toBe(join(SHARED_MODELS, REAL_MODEL));
    expect(findAsset(REAL_MODEL, { STREETWATCH_ASSETS: envDirB, STREETWATCH_ASSET_CACHE: cache })).toBe(join(envDirB, REAL_MODEL));
  });

  it('takes the first STREETWATCH_ASSETS folder that has the file', () => {
    writeFileSync(join(envDirA, 'x.bin'), 'a');
    writeFileSync(join(envDirB, 'x.bin'), 'b');
    const env = { STREETWATCH_ASSETS: [envDirA, envDirB].join(delimiter), STREETWATCH_ASSET_CACHE: cache };
    expect(findAsset('x.bin', env)).toBe(join(envDirA, 'x.bin'));
    expect(findAsset('x.bin', { ...env, STREETWATCH_ASSETS: [envDirB, envDirA].join(delimiter) })).toBe(join(envDirB, 'x.bin'));
  });

  it('uses the cache last', () => {
    writeFileSync(join(cache, REAL_MODEL), 'cached copy');
    writeFileSync(join(cache, 'only-cached.bin'), 'c');
    writeFileSync(join(envDirA, 'only-cached.bin'), 'a');
    const env = { STREETWATCH_ASSET_CACHE: cache };
    expect(findAsset(REAL_MODEL, env)).toBe(join(SHARED_MODELS, REAL_MODEL));
    expect(findAsset('only-cached.bin', env)).toBe(join(cache, 'only-cached.bin'));
    expect(findAsset('only-cached.bin', { ...env, STREETWATCH_ASSETS: envDirA })).toBe(join(envDirA, 'only-cached.bin'));
  });

  it('throws ASSET_NOT_FOUND listing every folder it looked in and what to do', () => {
    const env = { STREETWATCH_ASSETS: envDirA, STREETWATCH_ASSET_CACHE: cache };
    let err: unknown;
    try {
      resolveAsset('no-such-model.onnx', env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StreetwatchError);
    const e = err as StreetwatchError;
    expect(e.code).toBe('ASSET_NOT_FOUND');
    expect(e.message).toContain('no-such-model.onnx');
    for (const d of [envDirA, SHARED_MODELS, SHARED_MEDIA, cache]) expect(e.message).toContain(d);
    expect(e.message).toMatch(/STREETWATCH_ASSETS/);
    expect(e.message).toMatch(/fetch-assets/);
  });

  it('resolves asset: paths in configs through the resolver and others relative to the config', () => {
    writeFileSync(join(envDirA, 'zone.png'), 'z');
    const env = { STREETWATCH_ASSETS: envDirA, STREETWATCH_ASSET_CACHE: cache };
    expect(resolveConfigPath('asset:zone.png', '/etc/sw', env)).toBe(join(envDirA, 'zone.png'));
    expect(resolveConfigPath('zones/a.yaml', '/etc/sw', env)).toBe('/etc/sw/zones/a.yaml');
    expect(() => resolveConfigPath('asset:missing.png', '/etc/sw', env)).toThrow(/missing\.png/);
  });
});
