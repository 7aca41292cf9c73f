import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/log.js';
import { createMetrics } from '../../../core/metrics.js';
import type { Frame } from '../../../core/types.js';
import { defineDetector, type Detection, type DetectorManifest } from '../../../detectors/contract.js';
import { DetectorHost, type DetectorHostOptions } from '../../../detectors/host.js';
import { fakeManifest, frame } from '../../helpers/factories.js';
import { sleep } from '../../helpers/wait.js';

/** What the fake detector does on its n-th detect call (1-based, over all its instances). */
type Behaviour = (batch: readonly Frame[], call: number, signal: AbortSignal) => Promise<unknown>;

/**
 * A detector made with defineDetector whose detect is scripted, and which counts what the host does to it:
 * instances created and closed, calls, batch sizes, calls in flight.
 */
function fakeDetector(behaviour: Behaviour, over: Partial<DetectorManifest> = {}) {
  const stats = { created: 0, closed: 0, warmups: 0, calls: 0, batches: [] as number[][], inFlight: 0, maxInFlight: 0, signals: [] as AbortSignal[], forgotten: [] as string[] };
  const def = defineDetector({
    manifest: fakeManifest({ labels: ['crate', 'person', 'toothbrush'], labelMap: { crate: 'goods', person: 'person', toothbrush: null }, ...over }),
    create() {
      const instance = ++stats.created;
      let closed = false;
      return {
        instance,
        async warmup() {
          stats.warmups++;
        },
        async detect(batch: readonly Frame[], signal: AbortSignal) {
          if (closed) throw new Error(`instance ${instance} used after close`);
          stats.calls++;
          stats.batches.push(batch.map((f) => f.seq));
          stats.signals.push(signal);
          stats.inFlight++;
          stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
          try {
            return (await behaviour(batch, stats.calls, signal)) as Detection[][];
          } finally {
            stats.inFlight--;
          }
        },
        forgetCamera(id: string) {
          stats.forgotten.push(id);
        },
        async close() {
          if (!closed) stats.closed++;
          closed = true;
        },
      };
    },
  });
  return { def, stats };
}

/** `n` frames from seq `from` on, of three cameras in turn. */
const frames = (n: number, from = 0): Frame[] => Array.from({ length: n }, (_, i) => frame(`cam-${(from + i) % 3}`, from + i));

/** One crate per frame whose score encodes the frame's seq, so order can be checked. */
const perFrame: Behaviour = async (batch) => batch.map((f) => [{ box: [0.1, 0.1, 0.5, 0.5], score: f.seq / 1000, label: 'crate' }]);

function makeHost(def: DetectorHostOptions['def'], over: Partial<DetectorHostOptions> = {}) {
  const metrics = createMetrics(new Registry());
  const host = new DetectorHost({ def, options: {}, ctx: { log: createLogger({ level: 'silent' }), resolveAsset: (n) => n, threads: 1 }, metrics, deadlineMs: 150, ...over });
  return { host, metrics };
}

async function counter(metrics: ReturnType<typeof createMetrics>, name: 'detectorRestarts' | 'detectorRuns', labels: Record<string, string>): Promise<number> {
  const { values } = await metrics[name].get();
  return values.filter((v) => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val)).reduce((s, v) => s + v.value, 0);
}

describe('DetectorHost: lifecycle', () => {
  it('start creates one instance and warms it up; frames then run on it', async () => {
    const { def, stats } = fakeDetector(perFrame);
    const { host } = makeHost(def);
    expect(stats.created).toBe(0);
    await host.start();
    expect([stats.created, stats.warmups]).toEqual([1, 1]);
    expect(host.status).toMatchObject({ id: 'fake', version: '1.0.0', state: 'ready', restarts: 0 });
    await host.detect(frames(3));
    expect(stats.created).toBe(1);
  });

  it('passes forgetCamera through to the instance', async () => {
    const { def, stats } = fakeDetector(perFrame);
    const { host } = makeHost(def);
    await host.start();
    host.forgetCamera('cam-7');
    expect(stats.forgotten).toEqual(['cam-7']);
  });

  it('stop closes the instance once however often it is called, and refuses work after with STOPPED', async () => {
    const { def, stats } = fakeDetector(perFrame);
    const { host } = makeHost(def);
    await host.start();
    await Promise.all([host.stop(), host.stop()]);
    await host.stop();
    expect(stats.closed).toBe(1);
    await expect(host.detect(frames(1))).rejects.toMatchObject({ code: 'STOPPED' });
    expect(host.status.state).toBe('stopped');
  });
});

describe('DetectorHost: hangs, crashes and the restart budget', () => {
  it('abandons a hanging call at the deadline (aborting its signal), re-creates the detector and counts the restart', async () => {
    const { def, stats } = fakeDetector(async (b, call) => (call === 1 ? new Promise(() => {}) : perFrame(b, call, new AbortController().signal)));
    const { host, metrics } = makeHost(def, { deadlineMs: 100 });
    const t0 = Date.now();
    await expect(host.detect(frames(1))).rejects.toMatchObject({ code: 'DETECTOR_TIMEOUT', retriable: true });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(95);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(stats.signals[0]!.aborted).toBe(true);
    expect([stats.created, stats.closed]).toEqual([2, 1]);
    expect(await counter(metrics, 'detectorRestarts', { detector: 'fake', reason: 'timeout' })).toBe(1);
    expect(await counter(metrics, 'detectorRuns', { detector: 'fake', result: 'timeout' })).toBe(1);
    expect(await host.detect(frames(1, 5))).toEqual([[expect.objectContaining({ score: 0.005 })]]);
    expect(host.status).toMatchObject({ state: 'ready', restarts: 1, lastError: expect.stringContaining('longer than 100 ms') });
    expect(await metrics.registry.metrics()).toMatch(/streetwatch_detector_restarts_total\{detector="fake",reason="timeout"\} 1/);
  });

  it('restarts a crashing detector and carries on with the new instance', async () => {
    const { def, stats } = fakeDetector(async (b, call) => {
      if (call === 1) throw new RangeError('tensor index out of range');
      return perFrame(b, call, new AbortController().signal);
    });
    const { host, metrics } = makeHost(def);
    await expect(host.detect(frames(1))).rejects.toMatchObject({ code: 'DETECTOR_CRASHED', message: expect.stringContaining('tensor index out of range') });
    expect([stats.created, stats.closed]).toEqual([2, 1]);
    expect(await counter(metrics, 'detectorRestarts', { reason: 'crash' })).toBe(1);
    expect((await host.detect(frames(2))).map((l) => l.length)).toEqual([1, 1]);
  });

  it('a spent restart budget takes the detector out of service: DETECTOR_FAILED, and no more calls reach it', async () => {
    const { def, stats } = fakeDetector(async () => {
      throw new Error('CUDA-less segfault, simulated');
    });
    const { host, metrics } = makeHost(def, { restartBudget: { max: 2, windowMs: 60_000 } });
    for (let i = 0; i < 3; i++) await expect(host.detect(frames(1))).rejects.toMatchObject({ code: 'DETECTOR_CRASHED' });
    expect(host.status.state).toBe('failed');
    expect(stats.created).toBe(3);
    const calls = stats.calls;
    await expect(host.detect(frames(1))).rejects.toMatchObject({ code: 'DETECTOR_FAILED', message: expect.stringContaining('segfault') });
    expect(stats.calls).toBe(calls);
    expect(await counter(metrics, 'detectorRestarts', { reason: 'crash' })).toBe(2);
  });

  it('restarts older than the budget window do not count against it', async () => {
    let now = 0;
    const { def, stats } = fakeDetector(async () => {
      throw new Error('flaky');
    });
    const { host } = makeHost(def, { restartBudget: { max: 2, windowMs: 1000 }, now: () => now });
    for (let i = 0; i < 6; i++) {
      await expect(host.detect(frames(1))).rejects.toMatchObject({ code: 'DETECTOR_CRASHED' });
      now += 600;
    }
    expect(host.status.state).not.toBe('failed');
    expect(stats.created).toBe(7);
  });

  it('a detector that cannot be re-created after a crash is failed', async () => {
    let creates = 0;
    const def = defineDetector({
      manifest: { ...fakeDetector(perFrame).def.manifest },
      create() {
        if (++creates > 1) throw new Error('model file vanished');
        return {
          detect: async () => {
            throw new Error('boom');
          },
          close: async () => {},
        };
      },
    });
    const { host } = makeHost(def);
    await expect(host.detect(frames(1))).rejects.toMatchObject({ code: 'DETECTOR_CRASHED' });
    expect(host.status).toMatchObject({ state: 'failed', lastError: expect.stringContaining('model file vanished') });
    await expect(host.detect(frames(1))).rejects.toMatchObject({ code: 'DETECTOR_FAILED' });
  });
});

describe('DetectorHost: output checks', () => {
  const box = (b: number[]) => async (batch: readonly Frame[]) => batch.map(() => [{ box: b, score: 0.5, label: 'crate' }]);
  it.each<[string, Behaviour]>([
    ['too few result lists', async (b) => b.slice(1).map(() => [])],
    ['too many result lists', async (b) => [...b, ...b].map(() => [])],
    ['not an array', async () => ({ detections: [] })],
    ['a frame result that is not an array', async (b) => b.map(() => null)],
    ['a box beyond the right edge', box([0.2, 0.2, 1.2, 0.5])],
    ['a negative coordinate', box([-0.1, 0.2, 0.5, 0.5])],
    ['x1 > x2', box([0.6, 0.2, 0.5, 0.5])],
    ['an empty box (y1 = y2)', box([0.1, 0.3, 0.5, 0.3])],
    ['NaN in a box', box([0.1, Number.NaN, 0.5, 0.5])],
    ['pixel coordinates', box([12, 30, 200, 180])],
    ['a score above 1', async (b) => b.map(() => [{ box: [0.1, 0.1, 0.2, 0.2], score: 1.3, label: 'crate' }])],
    ['a label not in the manifest', async (b) => b.map(() => [{ box: [0.1, 0.1, 0.2, 0.2], score: 0.5, label: 'spaceship' }])],
  ])('refuses a result with %s: DETECTOR_OUTPUT_INVALID, and restarts the instance', async (_name, behaviour) => {
    const { def, stats } = fakeDetector(behaviour);
    const { host, metrics } = makeHost(def);
    await expect(host.detect(frames(2))).rejects.toMatchObject({ code: 'DETECTOR_OUTPUT_INVALID', message: expect.stringContaining("detector 'fake' broke the contract") });
    expect(stats.created).toBe(2);
    expect(await counter(metrics, 'detectorRestarts', { reason: 'invalid_output' })).toBe(1);
  });

  it('fills in the semantic label from labelMap, keeps sinceMs, and drops labels mapped to null', async () => {
    const { def } = fakeDetector(async (b) =>
      b.map(() => [
        { box: [0.1, 0.1, 0.3, 0.3], score: 0.9, label: 'crate', sinceMs: 12_000 },
        { box: [0.4, 0.1, 0.6, 0.9], score: 0.8, label: 'person' },
        { box: [0.7, 0.7, 0.8, 0.8], score: 0.99, label: 'toothbrush' },
      ]),
    );
    const { host } = makeHost(def);
    const [list] = await host.detect(frames(1));
    expect(list).toEqual([
      { box: [0.1, 0.1, 0.3, 0.3], score: 0.9, label: 'crate', semantic: 'goods', sinceMs: 12_000 },
      { box: [0.4, 0.1, 0.6, 0.9], score: 0.8, label: 'person', semantic: 'person' },
    ]);
  });

  it('accepts boxes that touch the frame edges (0 and 1 are inside)', async () => {
    const { def } = fakeDetector(async (b) => b.map(() => [{ box: [0, 0, 1, 1], score: 1, label: 'crate' }]));
    const { host } = makeHost(def);
    expect(await host.detect(frames(1))).toEqual([[expect.objectContaining({ box: [0, 0, 1, 1], score: 1, semantic: 'goods' })]]);
  });
});

describe('DetectorHost: batching and concurrency', () => {
  it('splits work into batches of at most maxBatch consecutive frames and returns the lists in frame order', async () => {
    const { def, stats } = fakeDetector(async (b, call) => {
      // Later batches answer first, so order must come from the host, not from timing.
      await sleep(40 - call * 10);
      return perFrame(b, call, new AbortController().signal);
    }, { maxBatch: 3 });
    const { host } = makeHost(def, { concurrency: 3, deadlineMs: 1000 });
    const out = await host.detect(frames(8));
    expect(stats.batches).toEqual([[0, 1, 2], [3, 4, 5], [6, 7]]);
    expect(out.map((l) => l[0]!.score)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((s) => s / 1000));
  });

  it('runs at most `concurrency` batches at once, across callers', async () => {
    const { def, stats } = fakeDetector(async (b, call) => {
      await sleep(15);
      return perFrame(b, call, new AbortController().signal);
    }, { maxBatch: 1 });
    const { host } = makeHost(def, { concurrency: 3, deadlineMs: 1000 });
    const [a, b] = await Promise.all([host.detect(frames(7)), host.detect(frames(5, 100))]);
    expect(stats.maxInFlight).toBe(3);
    expect(stats.calls).toBe(12);
    expect(a.map((l) => l[0]!.score)).toEqual([0, 1, 2, 3, 4, 5, 6].map((s) => s / 1000));
    expect(b.map((l) => l[0]!.score)).toEqual([100, 101, 102, 103, 104].map((s) => s / 1000));
  });

  it('runs one batch at a time by default', async () => {
    const { def, stats } = fakeDetector(async (b, call) => {
      await sleep(5);
      return perFrame(b, call, new AbortController().signal);
    }, { maxBatch: 1 });
    const { host } = makeHost(def, { deadlineMs: 1000 });
    await Promise.all([host.detect(frames(3)), host.detect(frames(3))]);
    expect(stats.maxInFlight).toBe(1);
  });
});
