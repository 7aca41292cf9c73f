import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveAsset } from '../../core/assets.js';
import { createLogger } from '../../core/log.js';
import type { Detection, DetectorInstance } from '../../detectors/contract.js';
import { loadImageFrame } from '../../detectors/image.js';
import { loadModelDetectorManifests, onnxDetectorFromManifest, type ModelDetectorManifest } from '../../detectors/onnx/detector.js';
import { parseModelDetectorManifest } from '../../detectors/onnx/manifest.js';
import { oxfordFrame } from '../helpers/frames.js';

// The three real COCO models in ../shared/models on real street media.
const manifests = loadModelDetectorManifests();
const ctx = { log: createLogger({ level: 'error' }), resolveAsset: (n: string) => resolveAsset(n), threads: 1 };
const open: DetectorInstance[] = [];
afterAll(async () => Promise.all(open.map((i) => i.close())));

async function instance(m: ModelDetectorManifest, options: Record<string, unknown> = {}): Promise<DetectorInstance> {
  const def = onnxDetectorFromManifest(m);
  const inst = await def.create(def.manifest.options.parse(options), ctx);
  open.push(inst);
  return inst;
}
const signal = () => new AbortController().signal;
const count = (d: Detection[], label: string) => d.filter((x) => x.label === label).length;

describe.each(manifests.map((m) => [m.id, m] as const))('%s on real media', (_id, m) => {
  it('finds at least 10 people in the first Oxford frame (640×360), with plausible boxes', async () => {
    const inst = await instance(m);
    const [d] = await inst.detect([oxfordFrame()], signal());
    const persons = d!.filter((x) => x.label === 'person');
    expect(persons.length).toBeGreaterThanOrEqual(10);
    for (const p of persons) {
      expect(p.semantic).toBe('person');
      expect(p.box[0]).toBeGreaterThanOrEqual(0);
      expect(p.box[3]).toBeLessThanOrEqual(1);
    }
    // pedestrians are taller than wide (in pixels of a 16:9 frame)
    const aspect = persons.map((p) => ((p.box[3] - p.box[1]) * 360) / ((p.box[2] - p.box[0]) * 640));
    expect(aspect.reduce((a, b) => a + b, 0) / aspect.length).toBeGreaterThan(1.5);
  });

  it('sees the food-cart umbrellas and the people in the Times Square photo', async () => {
    const { frame } = await loadImageFrame(resolveAsset('nyc_times_square_foodcart_umbrellas.png'));
    const [d] = await (await instance(m)).detect([frame], signal());
    expect(count(d!, 'person')).toBeGreaterThanOrEqual(5);
    // umbrella candidates (low threshold) sit over the food cart, right of centre, mid-height
    const [low] = await (await instance(m, { threshold: 0.05, classes: ['umbrella'] })).detect([frame], signal());
    expect(low!.length).toBeGreaterThanOrEqual(1);
    const top = low!.sort((a, b) => b.score - a.score)[0]!;
    expect(top.semantic).toBe('umbrella');
    const cx = (top.box[0] + top.box[2]) / 2;
    const cy = (top.box[1] + top.box[3]) / 2;
    expect(cx).toBeGreaterThan(0.65);
    expect(cx).toBeLessThan(0.9);
    expect(cy).toBeGreaterThan(0.5);
    expect(cy).toBeLessThan(0.7);
  });

  it('finds the vendor in the Vietnam street-vendor photo', async () => {
    const { frame } = await loadImageFrame(resolveAsset('vn_street_vendor_eggs.jpg'));
    const [d] = await (await instance(m)).detect([frame], signal());
    expect(count(d!, 'person')).toBeGreaterThanOrEqual(1);
  });
});

describe('PicoDet at default thresholds', () => {
  it('reports the two umbrellas of the Times Square food cart', async () => {
    const { frame } = await loadImageFrame(resolveAsset('nyc_times_square_foodcart_umbrellas.png'));
    const [d] = await (await instance(manifests.find((m) => m.family === 'picodet')!)).detect([frame], signal());
    expect(count(d!, 'umbrella')).toBeGreaterThanOrEqual(2);
  });
});

describe('bad model files fail at load, naming the file', () => {
  const yolox = manifests.find((m) => m.id === 'yolox-nano-416')!;
  const dir = mkdtempSync(join(tmpdir(), 'sw-models-'));
  const create = (m: ModelDetectorManifest, resolve: (n: string) => string) => {
    const def = onnxDetectorFromManifest(m);
    return def.create(def.manifest.options.parse({}), { ...ctx, resolveAsset: resolve });
  };

  it('missing file → MODEL_FILE_MISSING', async () => {
    await expect(create(yolox, () => resolveAsset('no_such_model.onnx'))).rejects.toMatchObject({ code: 'MODEL_FILE_MISSING', message: expect.stringContaining('yolox_nano_416.onnx') });
  });

  it('changed bytes → MODEL_HASH_MISMATCH with expected and actual hashes', async () => {
    const bad = join(dir, 'flipped.onnx');
    const bytes = readFileSync(resolveAsset(yolox.file));
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    writeFileSync(bad, bytes);
    await expect(create(yolox, () => bad)).rejects.toMatchObject({ code: 'MODEL_HASH_MISMATCH', message: expect.stringMatching(new RegExp(`${bad}.*${yolox.sha256}`)) });
  });

  it('a corrupt file whose manifest hash matches → MODEL_LOAD_FAILED', async () => {
    const garbage = join(dir, 'garbage.onnx');
    writeFileSync(garbage, Buffer.from('this is not an onnx model'.repeat(100)));
    const { createHash } = await import('node:crypto');
    const sha256 = createHash('sha256').update(readFileSync(garbage)).digest('hex');
    await expect(create({ ...yolox, sha256 }, () => garbage)).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED', message: expect.stringContaining(garbage) });
  });

  it('a manifest declaring another input shape → MODEL_SHAPE_MISMATCH with both shapes', async () => {
    const wrong = { ...yolox, input: { ...yolox.input, shape: [1, 3, 640, 640] as [number, 3, number, number] } };
    await expect(create(wrong, (n) => resolveAsset(n))).rejects.toMatchObject({
      code: 'MODEL_SHAPE_MISMATCH',
      message: expect.stringMatching(/expected \[1,3,640,640\], actual \[1,3,416,416\]/),
    });
  });

  it('a manifest with an unmapped class or a bad key is rejected naming the file', () => {
    const text = readFileSync(yolox.manifestPath, 'utf8');
    const obj = JSON.parse(text);
    delete obj.labelMap.umbrella;
    expect(() => parseModelDetectorManifest('models/x.json', JSON.stringify(obj))).toThrow(expect.objectContaining({ code: 'DETECTOR_LABEL_MAP_MISSING', message: expect.stringContaining('umbrella') }));
    const obj2 = JSON.parse(text);
    obj2.input.resize = 'squash';
    expect(() => parseModelDetectorManifest('models/x.json', JSON.stringify(obj2))).toThrow(expect.objectContaining({ code: 'ASSET_MANIFEST_INVALID', message: expect.stringContaining('input.resize') }));
  });

  it('a new model of a known family needs only a manifest', async () => {
    // the same YOLOX file under a new id, with a new manifest and no code
    copyFileSync(resolveAsset(yolox.file), join(dir, 'my_yolox.onnx'));
    const obj = JSON.parse(readFileSync(yolox.manifestPath, 'utf8'));
    Object.assign(obj, { id: 'my-yolox', file: 'my_yolox.onnx', default: false });
    const path = join(dir, 'my-yolox.json');
    writeFileSync(path, JSON.stringify(obj));
    const m = parseModelDetectorManifest(path, readFileSync(path, 'utf8'));
    const def = onnxDetectorFromManifest(m);
    expect(def.manifest.id).toBe('my-yolox');
    const inst = await def.create(def.manifest.options.parse({}), { ...ctx, resolveAsset: (n) => join(dir, n) });
    open.push(inst);
    const [d] = await inst.detect([oxfordFrame()], signal());
    expect(count(d!, 'person')).toBeGreaterThanOrEqual(10);
  });
});
