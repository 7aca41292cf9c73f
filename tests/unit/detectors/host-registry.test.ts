import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { createMetrics } from '../../../core/metrics.js';
import type { Frame } from '../../../core/types.js';
import { defineDetector, DETECTOR_API, type Detection, type DetectorDefinition } from '../../../detectors/contract.js';
import { DetectorHost } from '../../../detectors/host.js';
import { DetectorRegistry, parseDetectorOptions, validateDefinition } from '../../../detectors/registry.js';
import { memoryLogger } from '../../helpers/pipeline.js';

type Behaviour = (batch: readonly Frame[], call: number) => Promise<Detection[][]>;

function fake(behaviour: Behaviour, over: Partial<DetectorDefinition['manifest']> = {}) {
  const stats = { created: 0, closed: 0, calls: 0, batchSizes: [] as number[], concurrent: 0, maxConcurrent: 0 };
  const def = defineDetector({
    manifest: {
      id: 'fake', version: '1.0.0', api: `^${DETECTOR_API}`, labels: ['a', 'b'], labelMap: { a: 'goods', b: null },
      input: { width: 4, height: 4, pixelFormat: 'rgb24' }, maxBatch: 2, options: z.strictObject({ k: z.number().default(1) }),
      ...over,
    },
    create() {
      stats.created++;
      return {
        async detect(batch) {
          stats.calls++;
          stats.batchSizes.push(batch.length);
          stats.concurrent++;
          stats.maxConcurrent = Math.max(stats.maxConcurrent, stats.concurrent);
          try {
            return await behaviour(batch, stats.calls);
          } finally {
            stats.concurrent--;
          }
        },
        async close() {
          stats.closed++;
        },
      };
    },
  });
  return { def, stats };
}

const frames = (n: number): Frame[] => Array.from({ length: n }, (_, i) => ({ cameraId: `c${i % 2}`, seq: i, ptsSec: i, wallMs: i, width: 4, height: 4, format: 'rgb24', data: Buffer.alloc(48) }));
const ok: Behaviour = async (batch) => batch.map((f) => [{ box: [0, 0, 0.5, 0.5], score: f.seq / 10, label: 'a' }, { box: [0, 0, 1, 1], score: 1, label: 'b' }]);

function host(def: DetectorDefinition, over: Partial<ConstructorParameters<typeof DetectorHost>[0]> = {}) {
  const metrics = createMetrics(new Registry());
  const h = new DetectorHost({ def, options: { k: 1 }, ctx: { log: memoryLogger().log, resolveAsset: (n) => n, threads: 1 }, metrics, deadlineMs: 200, ...over });
  return { h, metrics };
}

describe('DetectorRegistry', () => {
  it('loads lazily and once, validating the definition', async () => {
    let loads = 0;
    const r = new DetectorRegistry().register('fake', async () => {
      loads++;
      return fake(ok).def;
    });
    expect(loads).toBe(0);
    await r.get('fake');
    await r.get('fake');
    expect(loads).toBe(1);
  });

  it.each([
    ['API mismatch', { api: '^2.0.0' }, 'DETECTOR_API_MISMATCH'],
    ['missing label map entry', { labelMap: { a: 'goods' } }, 'DETECTOR_LABEL_MAP_MISSING'],
    ['unknown semantic label', { labelMap: { a: 'goods', b: 'spaceship' } }, 'DETECTOR_INVALID'],
    ['bad version', { version: 'one' }, 'DETECTOR_INVALID'],
  ] as const)('refuses a detector with a %s', (_name, over, code) => {
    expect(() => validateDefinition(fake(ok, over as never).def, 'fake')).toThrow(expect.objectContaining({ code }));
  });

  it('unknown id → DETECTOR_NOT_FOUND listing the known ones; a failed load is retried', async () => {
    let fail = true;
    const r = new DetectorRegistry().register('fake', async () => {
      if (fail) throw new Error('not yet');
      return fake(ok).def;
    });
    await expect(r.get('nope')).rejects.toMatchObject({ code: 'DETECTOR_NOT_FOUND', message: expect.stringContaining('fake') });
    await expect(r.get('fake')).rejects.toThrow('not yet');
    fail = false;
    await expect(r.get('fake')).resolves.toBeDefined();
  });

  it('rejects unknown options naming the detector', () => {
    expect(() => parseDetectorOptions(fake(ok).def, { kk: 2 }, "camera 'x'")).toThrow(expect.objectContaining({ code: 'DETECTOR_OPTIONS_INVALID', message: expect.stringContaining("camera 'x'") }));
  });
});

describe('DetectorHost', () => {
  it('splits by maxBatch, keeps order, fills semantic labels and drops null-mapped labels', async () => {
    const { def, stats } = fake(ok);
    const { h } = host(def);
    await h.start();
    const out = await h.detect(frames(5));
    expect(stats.batchSizes).toEqual([2, 2, 1]);
    expect(out.map((l) => l.map((d) => d.score))).toEqual([[0], [0.1], [0.2], [0.3], [0.4]]);
    expect(out[0]![0]).toMatchObject({ label: 'a', semantic: 'goods' });
  });

  it('respects the concurrency limit', async () => {
    const { def, stats } = fake(async (b) => {
      await new Promise((r) => setTimeout(r, 20));
      return b.map(() => []);
    }, { maxBatch: 1 });
    const { h } = host(def, { concurrency: 2 });
    await h.detect(frames(6));
    expect(stats.maxConcurrent).toBe(2);
  });

  it('abandons a hanging call at the deadline and re-creates the detector', async () => {
    const { def, stats } = fake(async (b, call) => (call === 1 ? new Promise(() => {}) : ok(b, call)));
    const { h, metrics } = host(def);
    await expect(h.detect(frames(1))).rejects.toMatchObject({ code: 'DETECTOR_TIMEOUT' });
    expect(stats.created).toBe(2);
    expect(stats.closed).toBe(1);
    expect((await h.detect(frames(1))).length).toBe(1);
    expect(await metrics.registry.metrics()).toMatch(/streetwatch_detector_restarts_total\{detector="fake",reason="timeout"\} 1/);
  });

  it('restarts a crashing detector until the budget is spent, then fails for good', async () => {
    const { def, stats } = fake(async () => {
      throw new Error('segfault-ish');
    });
    const { h } = host(def, { restartBudget: { max: 2, windowMs: 60_000 } });
    for (let i = 0; i < 3; i++) await expect(h.detect(frames(1))).rejects.toMatchObject({ code: 'DETECTOR_CRASHED' });
    expect(h.status.state).toBe('failed');
    await expect(h.detect(frames(1))).rejects.toMatchObject({ code: 'DETECTOR_FAILED' });
    expect(stats.created).toBe(3);
  });

  it.each([
    ['too few result lists', async (b: readonly Frame[]) => b.slice(1).map(() => [])],
    ['a box out of range', async (b: readonly Frame[]) => b.map(() => [{ box: [0, 0, 1.5, 1], score: 0.5, label: 'a' }])],
    ['an unknown label', async (b: readonly Frame[]) => b.map(() => [{ box: [0, 0, 1, 1], score: 0.5, label: 'zzz' }])],
  ] as [string, Behaviour][])('refuses output with %s', async (_n, behaviour) => {
    const { h } = host(fake(behaviour).def);
    await expect(h.detect(frames(2))).rejects.toMatchObject({ code: 'DETECTOR_OUTPUT_INVALID' });
  });

  it('stop is idempotent and closes the instance once', async () => {
    const { def, stats } = fake(ok);
    const { h } = host(def);
    await h.start();
    await Promise.all([h.stop(), h.stop()]);
    await h.stop();
    expect(stats.closed).toBe(1);
    await expect(h.detect(frames(1))).rejects.toMatchObject({ code: 'STOPPED' });
  });
});
