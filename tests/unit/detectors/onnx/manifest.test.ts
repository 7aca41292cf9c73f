import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SEMANTIC_LABELS } from '../../../../detectors/contract.js';
import { DEFAULT_LANES, onnxDetectorFromManifest } from '../../../../detectors/onnx/detector.js';
import { fitToFrames, loadModelDetectorManifests, parseModelDetectorManifest } from '../../../../detectors/onnx/manifest.js';
import { validateDefinition } from '../../../../detectors/registry.js';

const manifests = loadModelDetectorManifests();
const byId = (id: string) => manifests.find((m) => m.id === id)!;

describe('the models/*.json manifests', () => {
  it('are the three shared models', () => {
    expect(manifests.map((m) => m.id)).toEqual(['picodet-xs-320', 'yolov8n-int8-640', 'yolox-nano-416']);
  });

  it.each(manifests.map((m) => [m.id, m] as const))('%s: 80 COCO classes, each mapped to a semantic label or null', (_id, m) => {
    expect(m.classes).toHaveLength(80);
    expect(m.classes[0]).toBe('person');
    expect(m.classes[79]).toBe('toothbrush');
    expect(Object.keys(m.labelMap).sort()).toEqual([...m.classes].sort());
    for (const v of Object.values(m.labelMap)) expect(v === null || (SEMANTIC_LABELS as readonly string[]).includes(v)).toBe(true);
    expect(m.labelMap).toMatchObject({
      person: 'person', car: 'vehicle', bus: 'vehicle', truck: 'vehicle', bicycle: 'two_wheeler', motorcycle: 'two_wheeler',
      umbrella: 'umbrella', 'dining table': 'table', chair: 'chair', bench: 'bench', 'potted plant': 'plant',
      suitcase: 'goods', handbag: 'goods', backpack: 'goods', bottle: 'goods', dog: 'animal', bird: 'animal', toothbrush: null, airplane: null,
    });
    // the registry accepts the definition built from it
    expect(() => validateDefinition(onnxDetectorFromManifest(m), m.id)).not.toThrow();
  });

  it('all three list the same classes in the same order', () => {
    expect(byId('yolox-nano-416').classes).toEqual(byId('picodet-xs-320').classes);
    expect(byId('yolov8n-int8-640').classes).toEqual(byId('picodet-xs-320').classes);
  });

  it('carry the preprocessing recipes of MODELS.md', () => {
    expect(byId('yolox-nano-416')).toMatchObject({
      family: 'yolox', maxBatch: 1,
      input: { tensor: 'images', shape: [1, 3, 416, 416], resize: 'letterbox-topleft', colour: 'BGR', scale: 1, mean: [0, 0, 0], std: [1, 1, 1], pad: 114 },
      outputs: [{ name: 'output', shape: [1, 3549, 85] }],
    });
    expect(byId('yolov8n-int8-640')).toMatchObject({
      family: 'yolov8', maxBatch: 1,
      input: { tensor: 'images', shape: [1, 3, 640, 640], resize: 'letterbox-centre', colour: 'RGB', mean: [0, 0, 0], std: [1, 1, 1], pad: 114 },
      outputs: [{ name: 'output0', shape: [1, 84, 8400] }],
    });
    expect(byId('yolov8n-int8-640').input.scale).toBeCloseTo(1 / 255);
    expect(byId('picodet-xs-320')).toMatchObject({
      family: 'picodet',
      // the image input is dynamic, but the graph fails past batch 1 (scale_factor is fixed at [1,2])
      maxBatch: 1,
      input: { tensor: 'image', shape: [null, 3, 320, 320], resize: 'stretch', colour: 'RGB', scale: 1, mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], scaleFactor: { tensor: 'scale_factor', shape: [1, 2] } },
    });
  });
});

describe('manifest validation', () => {
  const yolox = byId('yolox-nano-416');
  const text = readFileSync(yolox.manifestPath, 'utf8');
  const edit = (f: (o: Record<string, any>) => void) => {
    const o = JSON.parse(text);
    f(o);
    return () => parseModelDetectorManifest('models/x.json', JSON.stringify(o));
  };

  it.each<[string, (o: Record<string, any>) => void, string, string]>([
    ['an unmapped class', (o) => delete o.labelMap.umbrella, 'DETECTOR_LABEL_MAP_MISSING', 'umbrella'],
    ['a labelMap entry that is no class', (o) => (o.labelMap.stall = 'stall'), 'ASSET_MANIFEST_INVALID', 'stall'],
    ['an unknown semantic label', (o) => (o.labelMap.person = 'pedestrian'), 'ASSET_MANIFEST_INVALID', 'labelMap.person'],
    ['an unknown resize', (o) => (o.input.resize = 'squash'), 'ASSET_MANIFEST_INVALID', 'input.resize'],
    ['an unknown key in input', (o) => (o.input.normalise = true), 'ASSET_MANIFEST_INVALID', 'normalise'],
    ['a batch the fixed input shape cannot take', (o) => (o.maxBatch = 4), 'ASSET_MANIFEST_INVALID', 'maxBatch'],
    ['a YOLOX output inconsistent with input and classes', (o) => (o.outputs[0].shape = [1, 3549, 81]), 'ASSET_MANIFEST_INVALID', 'outputs.0.shape'],
    ['a per-class threshold for no class', (o) => (o.thresholds.perClass.stall = 0.3), 'ASSET_MANIFEST_INVALID', 'thresholds.perClass'],
    ['a threshold above 1', (o) => (o.thresholds.default = 30), 'ASSET_MANIFEST_INVALID', 'thresholds.default'],
    ['a version that is not semver', (o) => (o.version = 'v1'), 'ASSET_MANIFEST_INVALID', 'version'],
    ['width disagreeing with the shape', (o) => (o.input.width = 640), 'ASSET_MANIFEST_INVALID', 'input.width'],
    ['a fit step that does not divide the input', (o) => (o.input.fit = { multipleOf: 30 }), 'ASSET_MANIFEST_INVALID', 'input.fit.multipleOf'],
    ['a fit on a stretched input', (o) => (o.input.resize = 'stretch'), 'ASSET_MANIFEST_INVALID', 'input.fit'],
  ])('rejects %s', (_name, change, code, mentions) => {
    expect(edit(change)).toThrow(expect.objectContaining({ code, message: expect.stringContaining(mentions) }));
  });

  it('requires scaleFactor for PicoDet, and per-image counts before PicoDet may batch', () => {
    const pico = readFileSync(byId('picodet-xs-320').manifestPath, 'utf8');
    const o = JSON.parse(pico);
    delete o.input.scaleFactor;
    expect(() => parseModelDetectorManifest('p.json', JSON.stringify(o))).toThrow(/input.scaleFactor/);
    const b = JSON.parse(pico);
    b.maxBatch = 4;
    expect(() => parseModelDetectorManifest('p.json', JSON.stringify(b))).toThrow(/perImageCounts/);
    b.perImageCounts = 'multiclass_nms3_0.tmp_2';
    expect(parseModelDetectorManifest('p.json', JSON.stringify(b)).maxBatch).toBe(4);
  });

  it('is not JSON → ASSET_MANIFEST_INVALID naming the file', () => {
    expect(() => parseModelDetectorManifest('models/broken.json', '{')).toThrow(expect.objectContaining({ code: 'ASSET_MANIFEST_INVALID', message: expect.stringContaining('models/broken.json') }));
  });
});

describe('fitToFrames (input.fit: the input shrinks to the frames)', () => {
  const yolox = byId('yolox-nano-416');
  const v8 = { ...byId('yolov8n-int8-640'), input: { ...byId('yolov8n-int8-640').input, fit: { multipleOf: 32 } } };
  const f = (width: number, height: number) => ({ width, height });

  it('YOLOX-Nano declares it: steps of its largest stride', () => {
    expect(yolox.input.fit).toEqual({ multipleOf: 32 });
  });

  it.each<[string, { width: number; height: number }[], [number, number], number]>([
    ['16:9 frames of its width', [f(416, 234)], [416, 256], 52 * 32 + 26 * 16 + 13 * 8],
    ['16:9 frames of 1080p (letterboxed at the same scale)', [f(1920, 1080)], [416, 256], 2184],
    ['4:3 frames', [f(416, 312)], [416, 320], 52 * 40 + 26 * 20 + 13 * 10],
    ['portrait frames: the width shrinks', [f(234, 416)], [256, 416], 2184],
    ['mixed sizes: large enough for each', [f(416, 234), f(320, 240)], [416, 320], 52 * 40 + 26 * 20 + 13 * 10],
  ])('%s → input and output follow', (_what, frames, [w, h], rows) => {
    const m = fitToFrames(yolox, frames);
    expect(m.input).toMatchObject({ width: w, height: h, shape: [1, 3, h, w] });
    expect(m.outputs).toEqual([{ name: 'output', shape: [1, rows, 85] }]);
    expect(m.fittedFrom).toEqual({ width: 416, height: 416 });
    // what is fitted is not fitted again
    expect(fitToFrames(m, [f(100, 10)])).toBe(m);
  });

  it('unchanged for square frames, no frames, or a model without fit', () => {
    expect(fitToFrames(yolox, [f(640, 640)])).toBe(yolox);
    expect(fitToFrames(yolox, [])).toBe(yolox);
    expect(fitToFrames(yolox, [f(416, 234), f(500, 500)])).toBe(yolox);
    const noFit = byId('yolov8n-int8-640');
    expect(fitToFrames(noFit, [f(640, 360)])).toBe(noFit);
  });

  it('YOLOv8: anchors (the last output dimension) follow the grid; letterbox-centre frames too', () => {
    const m = fitToFrames(v8, [f(640, 360)]);
    expect(m.input).toMatchObject({ width: 640, height: 384, shape: [1, 3, 384, 640] });
    expect(m.outputs).toEqual([{ name: 'output0', shape: [1, 84, 80 * 48 + 40 * 24 + 20 * 12] }]);
  });

  it('is refused for PicoDet (post-processing in the graph)', () => {
    const o = JSON.parse(readFileSync(byId('picodet-xs-320').manifestPath, 'utf8'));
    o.input.resize = 'letterbox-topleft';
    o.input.fit = { multipleOf: 32 };
    expect(() => parseModelDetectorManifest('p.json', JSON.stringify(o))).toThrow(/input.fit: is for fully convolutional heads/);
  });
});

describe('detector options', () => {
  const def = onnxDetectorFromManifest(byId('yolox-nano-416'));
  const parse = (o: unknown) => def.manifest.options.safeParse(o);

  it('default to worker lanes (one per core, 2 to 4) and the manifest thresholds', () => {
    // by default inference runs on worker lanes, never on the event loop
    expect(parse({})).toMatchObject({ success: true, data: { concurrency: DEFAULT_LANES } });
    expect(DEFAULT_LANES).toBeGreaterThanOrEqual(2);
  });

  it.each([
    [{ threshold: 0.5, perClass: { umbrella: 0.1 }, nmsIou: 0.6, classes: ['person', 'umbrella'], concurrency: 2, threads: 1 }, true],
    [{ classes: ['stall'] }, false],
    [{ perClass: { stall: 0.2 } }, false],
    [{ threshold: 2 }, false],
    [{ concurrency: 0 }, false],
    [{ treshold: 0.5 }, false],
  ])('%j → valid %s', (o, ok) => {
    expect(parse(o).success).toBe(ok);
  });
});
