import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { StreetwatchError } from '../../../core/errors.js';
import { createMetrics } from '../../../core/metrics.js';
import { defineDetector, type Detection } from '../../../detectors/contract.js';
import { DetectorRegistry } from '../../../detectors/registry.js';
import { DetectionStage } from '../../../pipeline/detect-stage.js';
import { fakeManifest, fileCamera, frame, testConfig } from '../../helpers/factories.js';
import { memoryLogger } from '../../helpers/pipeline.js';

/** A fake detector that reports one box per frame and records what it was asked and told. */
function fakeDetector(id: string, journal: { created: unknown[]; batches: string[][]; forgotten: string[]; closed: number }) {
  return defineDetector({
    manifest: fakeManifest({ id, labels: ['thing', 'noise'], labelMap: { thing: 'goods', noise: null }, options: z.strictObject({ score: z.number().default(0.5) }) }),
    create(options) {
      journal.created.push(options);
      return {
        async detect(batch) {
          journal.batches.push(batch.map((f) => `${f.cameraId}#${f.seq}`));
          return batch.map((): Detection[] => [
            { box: [0.1, 0.1, 0.2, 0.3], score: options.score, label: 'thing' },
            { box: [0.5, 0.5, 0.6, 0.6], score: 0.9, label: 'noise' },
          ]);
        },
        forgetCamera(id) {
          journal.forgotten.push(id);
        },
        async close() {
          journal.closed++;
        },
      };
    },
  });
}

/**
 * A fake ONNX-like detector whose model file can be "corrupt": while `state.bad`, create() fails the way a
 * hash-mismatched model file does; `state.crash` makes every detect throw.
 */
function modelDetector(id: string, state: { bad: boolean; crash?: boolean; created: number; batches: string[][] }) {
  return defineDetector({
    manifest: fakeManifest({ id, version: '2.0.0', maxBatch: 4 }),
    create() {
      if (state.bad) {
        throw new StreetwatchError('MODEL_HASH_MISMATCH', `detector '${id}': model file /m/${id}.onnx is not the file models/${id}.json pins`, {
          details: { detector: id, file: `/m/${id}.onnx` },
        });
      }
      state.created++;
      return {
        async detect(batch) {
          if (state.crash) throw new Error('boom');
          state.batches.push(batch.map((f) => `${f.cameraId}#${f.seq}`));
          return batch.map((): Detection[] => []);
        },
        async close() {},
      };
    },
  });
}

const config = (cameras: unknown[]) => testConfig({ cameras });
const cam = (id: string, detectors: unknown[]) => fileCamera(id, { detectors });

function setup() {
  const journal = { created: [] as unknown[], batches: [] as string[][], forgotten: [] as string[], closed: 0 };
  const registry = new DetectorRegistry().register('fake', async () => fakeDetector('fake', journal)).register('other', async () => fakeDetector('other', journal));
  const metrics = createMetrics(new Registry());
  const stage = new DetectionStage({ registry, metrics, log: memoryLogger().log });
  return { journal, stage, metrics };
}

describe('DetectionStage', () => {
  it('shares one host per (detector, options) across cameras and batches their frames together', async () => {
    const { journal, stage } = setup();
    await stage.apply(config([cam('a', [{ id: 'fake' }]), cam('b', [{ id: 'fake' }]), cam('c', [{ id: 'fake', options: { score: 0.7 } }])]));
    expect(journal.created).toEqual([{ score: 0.5 }, { score: 0.7 }]);
    const out = await stage.run([frame('a', 1), frame('b', 1), frame('c', 1)]);
    expect(journal.batches).toContainEqual(['a#1', 'b#1']);
    expect(journal.batches).toContainEqual(['c#1']);
    expect(out.map((o) => o.frame.cameraId)).toEqual(['a', 'b', 'c']);
    // null-mapped labels dropped, semantic filled in
    expect(out[0]!.results).toEqual([{ detector: 'fake', version: '1.0.0', mode: 'active', detections: [{ box: [0.1, 0.1, 0.2, 0.3], score: 0.5, label: 'thing', semantic: 'goods' }] }]);
    expect(out[2]!.results[0]!.detections[0]!.score).toBe(0.7);
  });

  it("tells each host the frame sizes of its cameras; a camera of another size gets a host of its own", async () => {
    const seen: unknown[] = [];
    const sized = defineDetector({
      manifest: fakeManifest({ id: 'sized' }),
      create(_o, ctx) {
        seen.push(ctx.frames);
        return { detect: async (batch) => batch.map(() => []), close: async () => {} };
      },
    });
    const registry = new DetectorRegistry().register('sized', async () => sized);
    const stage = new DetectionStage({ registry, metrics: createMetrics(new Registry()), log: memoryLogger().log });
    const at = (width: number, height: number) => ({ frame: { width, height } });
    await stage.apply(config([cam('a', [{ id: 'sized' }]), fileCamera('b', { detectors: [{ id: 'sized' }], ...at(416, 234) })]));
    // a (the default frame, 416×234) and b (the same size, set on the camera) share one host, told the size once
    expect(seen).toEqual([[{ width: 416, height: 234 }]]);
    await stage.apply(config([cam('a', [{ id: 'sized' }]), fileCamera('b', { detectors: [{ id: 'sized' }], ...at(416, 234) }), fileCamera('c', { detectors: [{ id: 'sized' }], ...at(640, 480) })]));
    // the set of sizes changed: a new host, told all of them
    expect(seen).toEqual([[{ width: 416, height: 234 }], [{ width: 416, height: 234 }, { width: 640, height: 480 }]]);
    expect(stage.status()).toHaveLength(1);
    await stage.stop();
  });

  it('marks shadow results and counts them apart', async () => {
    const { stage, metrics } = setup();
    await stage.apply(config([cam('a', [{ id: 'fake' }, { id: 'other', mode: 'shadow' }])]));
    const [fd] = await stage.run([frame('a', 1)]);
    expect(fd!.results.map((r) => [r.detector, r.mode])).toEqual(expect.arrayContaining([['fake', 'active'], ['other', 'shadow']]));
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/streetwatch_detections_total\{camera="a",detector="other",mode="shadow",semantic="goods"\} 1/);
    expect(text).toMatch(/streetwatch_detections_total\{camera="a",detector="fake",mode="active",semantic="goods"\} 1/);
  });

  it('rejects a config with an unknown detector or bad options, keeping the running one', async () => {
    const { stage, journal } = setup();
    await stage.apply(config([cam('a', [{ id: 'fake' }])]));
    await expect(stage.apply(config([cam('a', [{ id: 'nope' }])]))).rejects.toMatchObject({ code: 'DETECTOR_NOT_FOUND' });
    await expect(stage.apply(config([cam('a', [{ id: 'fake', options: { scor: 1 } }])]))).rejects.toMatchObject({
      code: 'DETECTOR_OPTIONS_INVALID',
      message: expect.stringContaining("camera 'a'"),
    });
    const [fd] = await stage.run([frame('a', 2)]);
    expect(fd!.results[0]!.detector).toBe('fake');
    expect(journal.closed).toBe(0);
  });

  it('stops hosts no camera uses and tells detectors about cameras whose detectors changed', async () => {
    const { stage, journal } = setup();
    await stage.apply(config([cam('a', [{ id: 'fake' }]), cam('b', [{ id: 'other' }])]));
    await stage.apply(config([cam('a', [{ id: 'fake' }])]));
    expect(journal.closed).toBe(1);
    expect(journal.forgotten).toEqual(['b']);
    expect(stage.status().map((s) => s.id)).toEqual(['fake']);
    await stage.stop();
    expect(journal.closed).toBe(2);
  });

  it('a camera without detectors passes frames through with no results', async () => {
    const { stage } = setup();
    await stage.apply(config([cam('a', [])]));
    const [fd] = await stage.run([frame('a', 1)]);
    expect(fd).toMatchObject({ results: [], failed: [] });
  });

  describe('labelling on demand', () => {
    /** A trigger that finds something on the frames whose seq is in `found`, and a model that records what it ran on. */
    function setupGate(found: Set<number>) {
      const ran: string[] = [];
      const trigger = defineDetector({
        manifest: fakeManifest({ id: 'trig', labels: ['thing'], labelMap: { thing: 'static_object' } }),
        create: () => ({ detect: async (b) => b.map((f): Detection[] => (found.has(f.seq) ? [{ box: [0.1, 0.1, 0.2, 0.2], score: 1, label: 'thing' }] : [])), close: async () => {} }),
      });
      const model = defineDetector({
        manifest: fakeManifest({ id: 'model', labels: ['thing'], labelMap: { thing: 'person' }, maxBatch: 8 }),
        create: () => ({ detect: async (b) => b.map((f): Detection[] => (ran.push(`${f.cameraId}#${f.seq}`), [])), close: async () => {} }),
      });
      const registry = new DetectorRegistry().register('trig', async () => trigger).register('model', async () => model);
      const metrics = createMetrics(new Registry());
      return { ran, metrics, stage: new DetectionStage({ registry, metrics, log: memoryLogger().log }) };
    }
    const gated = (cameras: unknown[], everySec = 6) => testConfig({ cameras, detection: { labelOnDemand: { trigger: 'trig', everySec } } });
    // one frame every 2 s, as keyframes of a GOP-50 camera at 25 fps
    const at = (camera: string, seq: number) => frame(camera, seq, { wallMs: seq * 2000 });

    it('runs the object detector when the trigger finds something, else every everySec, and counts the frames it skips', async () => {
      const { ran, stage, metrics } = setupGate(new Set([4]));
      await stage.apply(gated([cam('a', [{ id: 'model' }, { id: 'trig' }])]));
      const out: string[][] = [];
      for (let seq = 0; seq < 8; seq++) out.push((await stage.run([at('a', seq)]))[0]!.skipped);
      // 0: first frame; 3: 6 s later; 4: the trigger found something; 7: 6 s after 4
      expect(ran).toEqual(['a#0', 'a#3', 'a#4', 'a#7']);
      expect(out.map((s) => s.length)).toEqual([0, 1, 1, 0, 0, 1, 1, 0]);
      expect(out[1]).toEqual(['model']);
      expect(await metrics.registry.metrics()).toMatch(/streetwatch_frames_detected_total\{camera="a",detector="model",result="skipped"\} 4/);
    });

    it('leaves cameras without the trigger, and a disabled gate, running every detector on every frame', async () => {
      const { ran, stage } = setupGate(new Set());
      await stage.apply(gated([cam('a', [{ id: 'model' }])]));
      for (let seq = 0; seq < 3; seq++) await stage.run([at('a', seq)]);
      await stage.apply(testConfig({ cameras: [cam('b', [{ id: 'model' }, { id: 'trig' }])], detection: { labelOnDemand: { enabled: false, trigger: 'trig' } } }));
      for (let seq = 0; seq < 3; seq++) await stage.run([at('b', seq)]);
      expect(ran).toEqual(['a#0', 'a#1', 'a#2', 'b#0', 'b#1', 'b#2']);
    });

    it('keeps one clock per camera in a shared batch, and starts a camera afresh when it is forgotten', async () => {
      const { ran, stage } = setupGate(new Set());
      await stage.apply(gated([cam('a', [{ id: 'model' }, { id: 'trig' }]), cam('b', [{ id: 'model' }, { id: 'trig' }])]));
      await stage.run([at('a', 0), at('b', 0)]);
      await stage.run([at('a', 1), at('b', 1)]);
      stage.forgetCamera('b');
      await stage.run([at('a', 2), at('b', 2)]);
      expect(ran).toEqual(['a#0', 'b#0', 'b#2']);
    });
  });

  describe('per camera (the runtime, at start and at every reload)', () => {
    function setupModel() {
      const journal = { created: [] as unknown[], batches: [] as string[][], forgotten: [] as string[], closed: 0 };
      const model = { bad: true, crash: false, created: 0, batches: [] as string[][] };
      const registry = new DetectorRegistry().register('fake', async () => fakeDetector('fake', journal)).register('model', async () => modelDetector('model', model));
      const metrics = createMetrics(new Registry());
      const stage = new DetectionStage({ registry, metrics, log: memoryLogger().log });
      return { journal, model, stage };
    }

    it('a detector that does not load fails only the cameras using it (tried once for all of them); the next apply loads it', async () => {
      const { model, stage } = setupModel();
      const cfg = config([cam('good', [{ id: 'fake' }]), cam('bad1', [{ id: 'model' }]), cam('bad2', [{ id: 'fake' }, { id: 'model' }])]);
      const failed = await stage.applyPerCamera(cfg);
      expect([...failed.keys()]).toEqual(['bad1', 'bad2']);
      expect(failed.get('bad1')).toMatchObject({ code: 'MODEL_HASH_MISMATCH', details: { file: '/m/model.onnx' } });
      expect(stage.status().map((s) => s.id)).toEqual(['fake']);
      const out = await stage.run([frame('good', 1), frame('bad1', 1), frame('bad2', 1)]);
      expect(out.map((o) => o.results.map((r) => r.detector))).toEqual([['fake'], [], []]);

      model.bad = false; // the file is fixed
      expect((await stage.applyPerCamera(cfg)).size).toBe(0);
      expect(model.created).toBe(1);
      const again = await stage.run([frame('bad1', 2), frame('bad2', 2)]);
      expect(again.map((o) => o.results.map((r) => r.detector).sort())).toEqual([['model'], ['fake', 'model']]);
    });

    it('all-or-nothing apply throws the load error and changes nothing', async () => {
      const { stage, journal } = setupModel();
      await stage.apply(config([cam('a', [{ id: 'fake' }])]));
      await expect(stage.apply(config([cam('a', [{ id: 'fake' }]), cam('b', [{ id: 'model' }])]))).rejects.toMatchObject({ code: 'MODEL_HASH_MISMATCH' });
      expect(stage.status().map((s) => s.id)).toEqual(['fake']);
      expect(journal.closed).toBe(0);
    });

    it('a camera whose new detectors do not load keeps the ones it had', async () => {
      const { stage, journal } = setupModel();
      await stage.applyPerCamera(config([cam('a', [{ id: 'fake' }])]));
      const failed = await stage.applyPerCamera(config([cam('a', [{ id: 'model' }])]));
      expect(failed.get('a')?.code).toBe('MODEL_HASH_MISMATCH');
      const [fd] = await stage.run([frame('a', 1)]);
      expect(fd!.results.map((r) => r.detector)).toEqual(['fake']);
      expect(journal.closed).toBe(0);
      expect(journal.forgotten).toEqual([]);
    });

    it('config mistakes (unknown detector, bad options) still reject the whole config', async () => {
      const { stage } = setupModel();
      await expect(stage.applyPerCamera(config([cam('a', [{ id: 'fake' }]), cam('b', [{ id: 'nope' }])]))).rejects.toMatchObject({
        code: 'DETECTOR_NOT_FOUND',
        message: expect.stringContaining("camera 'b'"),
      });
      await expect(stage.applyPerCamera(config([cam('a', [{ id: 'fake', options: { scor: 1 } }])]))).rejects.toMatchObject({ code: 'DETECTOR_OPTIONS_INVALID' });
      expect(stage.status()).toEqual([]);
    });

    it('a detector out of service after repeated failures is started afresh by the next apply', async () => {
      const { model, stage } = setupModel();
      model.bad = false;
      model.crash = true;
      const cfg = testConfig({ detection: { restartBudget: { max: 0 } }, cameras: [cam('a', [{ id: 'model' }])] });
      await stage.applyPerCamera(cfg);
      await stage.run([frame('a', 1)]);
      expect(stage.status()[0]!.state).toBe('failed');
      model.crash = false;
      expect((await stage.applyPerCamera(cfg)).size).toBe(0);
      expect(stage.status()).toMatchObject([{ id: 'model', state: 'ready' }]);
      const [fd] = await stage.run([frame('a', 2)]);
      expect(fd).toMatchObject({ results: [{ detector: 'model' }], failed: [] });
    });
  });
});
