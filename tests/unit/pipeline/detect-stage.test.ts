import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { configSchema, type Config } from '../../../config/schema.js';
import { createMetrics } from '../../../core/metrics.js';
import type { Frame } from '../../../core/types.js';
import { defineDetector, DETECTOR_API, type Detection } from '../../../detectors/contract.js';
import { DetectorRegistry } from '../../../detectors/registry.js';
import { DetectionStage } from '../../../pipeline/detect-stage.js';
import { memoryLogger } from '../../helpers/pipeline.js';

/** A fake detector that reports one box per frame and records what it was asked and told. */
function fakeDetector(id: string, journal: { created: unknown[]; batches: string[][]; forgotten: string[]; closed: number }) {
  return defineDetector({
    manifest: {
      id,
      version: '1.0.0',
      api: `^${DETECTOR_API}`,
      labels: ['thing', 'noise'],
      labelMap: { thing: 'goods', noise: null },
      input: { width: 8, height: 8, pixelFormat: 'rgb24' },
      maxBatch: 2,
      options: z.strictObject({ score: z.number().default(0.5) }),
    },
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

function config(cameras: unknown[]): Config {
  return configSchema.parse({ version: 1, cameras });
}
const cam = (id: string, detectors: unknown[]) => ({ id, source: { kind: 'file', path: '/x.mp4' }, detectors });
const frame = (cameraId: string, seq: number): Frame => ({ cameraId, seq, ptsSec: seq, wallMs: seq, width: 8, height: 8, format: 'rgb24', data: Buffer.alloc(192) });

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
});
