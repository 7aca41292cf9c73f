import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAssetManifests, sha256File, verifyAsset, type AssetManifest, type ManifestDir } from '../../../core/asset-manifests.js';
import { StreetwatchError } from '../../../core/errors.js';
import { PROJECT_ROOT } from '../../../core/paths.js';

const SHARED = resolve(PROJECT_ROOT, '../shared');
const ABC_SHA256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

function caught(fn: () => unknown): StreetwatchError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StreetwatchError);
    return e as StreetwatchError;
  }
  throw new Error('expected an error');
}

async function rejected(p: Promise<unknown>): Promise<StreetwatchError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(StreetwatchError);
    return e as StreetwatchError;
  }
  throw new Error('expected a rejection');
}

describe('committed manifests', () => {
  const manifests = loadAssetManifests();

  it('pin the three models and the four media files', () => {
    expect(manifests.filter((m) => m.kind === 'model').map((m) => m.id).sort()).toEqual(['picodet-xs-320', 'yolov8n-int8-640', 'yolox-nano-416']);
    expect(manifests.filter((m) => m.kind === 'media').map((m) => m.file).sort()).toEqual([
      'nyc_times_square_foodcart_umbrellas.png',
      'oxford_towncentre_pedestrians.mp4',
      'perth_fruit_market_stall.jpg',
      'vn_street_vendor_eggs.jpg',
    ]);
  });

  it('make YOLOX-Nano the only default model, never the AGPL one', () => {
    const defaults = manifests.filter((m) => m.kind === 'model' && m.default === true);
    expect(defaults.map((m) => m.id)).toEqual(['yolox-nano-416']);
    const agpl = manifests.find((m) => m.id === 'yolov8n-int8-640')!;
    expect(agpl.licence).toBe('AGPL-3.0');
    expect(agpl.default).not.toBe(true);
  });

  it('point model urls at the upstream file at the pinned commit', () => {
    for (const m of manifests.filter((x) => x.kind === 'model')) {
      expect(m.url).toMatch(/^https:\/\/raw\.githubusercontent\.com\/[^/]+\/[^/]+\/[0-9a-f]{40}\/.+/);
    }
  });

  // This is what makes the manifests trustworthy: each sha256 and size is checked against the real file.
  it.each(loadAssetManifests().map((m) => [m.id, m] as const))('%s matches the real file in ../shared', async (_id, m: AssetManifest) => {
    const path = join(SHARED, m.kind === 'model' ? 'models' : 'media', m.file);
    await expect(verifyAsset(path, m)).resolves.toBeUndefined();
    expect(await sha256File(path)).toBe(m.sha256);
  });
});

describe('manifest validation', () => {
  let dir: string;
  let dirs: ManifestDir[];
  const good = {
    id: 'tiny',
    file: 'tiny.onnx',
    sha256: ABC_SHA256,
    bytes: 3,
    url: 'https://example.org/tiny.onnx',
    licence: 'MIT',
    family: 'yolox',
    input: { width: 416, height: 416 },
  };
  const write = (name: string, body: unknown) =>
    writeFileSync(join(dir, 'models', name), typeof body === 'string' ? body : JSON.stringify(body));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'streetwatch-manifests-'));
    mkdirSync(join(dir, 'models'));
    dirs = [{ dir: join(dir, 'models'), kind: 'model' }];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts a good manifest and keeps keys it does not know (label maps come later)', () => {
    write('tiny.json', { ...good, labels: ['person'], thresholds: { score: 0.3 } });
    const [m] = loadAssetManifests(dirs);
    expect(m).toMatchObject({ id: 'tiny', kind: 'model', labels: ['person'], thresholds: { score: 0.3 } });
  });

  it('names the file and the key when a key is missing', () => {
    const { sha256: _drop, ...noHash } = good;
    write('tiny.json', noHash);
    const e = caught(() => loadAssetManifests(dirs));
    expect(e.code).toBe('ASSET_MANIFEST_INVALID');
    expect(e.message).toContain('tiny.json');
    expect(e.message).toContain("'sha256'");
  });

  it('rejects a malformed sha256, a path in file, and a model without family', () => {
    write('tiny.json', { ...good, sha256: 'ABC' });
    expect(caught(() => loadAssetManifests(dirs)).message).toMatch(/tiny\.json: key 'sha256' must be 64 lowercase hex/);
    write('tiny.json', { ...good, file: '../etc/passwd' });
    expect(caught(() => loadAssetManifests(dirs)).message).toMatch(/key 'file'/);
    const { family: _f, ...noFamily } = good;
    write('tiny.json', noFamily);
    expect(caught(() => loadAssetManifests(dirs)).message).toMatch(/key 'family'/);
  });

  it('rejects broken JSON, naming the file', () => {
    write('broken.json', '{ "id": "broken", ');
    const e = caught(() => loadAssetManifests(dirs));
    expect(e.code).toBe('ASSET_MANIFEST_INVALID');
    expect(e.message).toMatch(/broken\.json is not valid JSON/);
  });

  it('requires the id to equal the manifest file name, and ids to be unique', () => {
    write('other-name.json', good);
    expect(caught(() => loadAssetManifests(dirs)).message).toMatch(/other-name\.json: key 'id'/);
    rmSync(join(dir, 'models', 'other-name.json'));
    mkdirSync(join(dir, 'media'));
    write('tiny.json', good);
    writeFileSync(join(dir, 'media', 'tiny.json'), JSON.stringify({ ...good, file: 'tiny2.onnx' }));
    const e = caught(() => loadAssetManifests([...dirs, { dir: join(dir, 'media'), kind: 'media' }]));
    expect(e.message).toMatch(/key 'id' 'tiny' is already used by/);
  });
});

describe('verifyAsset and sha256File', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'streetwatch-verify-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const pin = { id: 'abc', file: 'abc.bin', sha256: ABC_SHA256, bytes: 3 };

  it('hashes a file with sha256', async () => {
    writeFileSync(join(dir, 'abc.bin'), 'abc');
    expect(await sha256File(join(dir, 'abc.bin'))).toBe(ABC_SHA256);
  });

  it('accepts the pinned file', async () => {
    writeFileSync(join(dir, 'abc.bin'), 'abc');
    await expect(verifyAsset(join(dir, 'abc.bin'), pin)).resolves.toBeUndefined();
  });

  it('rejects another file with ASSET_HASH_MISMATCH naming the file, both hashes and what to do', async () => {
    const path = join(dir, 'abc.bin');
    writeFileSync(path, 'abd');
    const actual = await sha256File(path);
    const e = await rejected(verifyAsset(path, pin));
    expect(e.code).toBe('ASSET_HASH_MISMATCH');
    expect(e.message).toContain(path);
    expect(e.message).toContain(`expected ${ABC_SHA256}`);
    expect(e.message).toContain(`actual ${actual}`);
    expect(e.message).toMatch(/Replace it/);
  });

  it('reports a missing file as ASSET_NOT_FOUND', async () => {
    const e = await rejected(verifyAsset(join(dir, 'gone.bin'), pin));
    expect(e.code).toBe('ASSET_NOT_FOUND');
  });
});
