import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../config/schema.js';
import { resolveAsset } from '../../../core/assets.js';
import { StreetwatchError } from '../../../core/errors.js';
import { createMetrics } from '../../../core/metrics.js';
import { defineDetector } from '../../../detectors/contract.js';
import { DetectorRegistry } from '../../../detectors/registry.js';
import { DetectionStage } from '../../../pipeline/detect-stage.js';
import { Runtime } from '../../../pipeline/runtime.js';
import { fakeManifest, testConfig } from '../../helpers/factories.js';
import { memoryLogger } from '../../helpers/pipeline.js';
import { waitFor } from '../../helpers/wait.js';

// Real ffmpeg on the real video, fake detectors: what is under test is which cameras the runtime starts when
// a detector does not load, what it reports, and that a later apply retries.
const video = resolveAsset('oxford_towncentre_pedestrians.mp4');

/** A detector with a model file that can be "corrupt": while `file.bad`, create() fails as a hash mismatch does. */
function detector(id: string, file: { bad: boolean }, seen: string[]) {
  return defineDetector({
    manifest: fakeManifest({ id, maxBatch: 8 }),
    create() {
      if (file.bad) {
        throw new StreetwatchError('MODEL_HASH_MISMATCH', `detector '${id}': model file /models/${id}.onnx is not the file models/${id}.json pins; replace it`, {
          details: { detector: id, file: `/models/${id}.onnx` },
        });
      }
      return {
        async detect(batch) {
          for (const f of batch) seen.push(f.cameraId);
          return batch.map(() => []);
        },
        async close() {},
      };
    },
  });
}

const cam = (id: string, detectors: string[]) => ({
  id,
  source: { kind: 'file', path: video, loop: true, realtime: true },
  sampling: { mode: 'fps', fps: 4 },
  frame: { width: 64, height: 36 },
  detectors: detectors.map((d) => ({ id: d })),
});

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

function setup(cameras: unknown[]) {
  const dataDir = mkdtempSync(join(tmpdir(), 'sw-runtime-'));
  const file = { bad: true };
  const seen: string[] = [];
  const registry = new DetectorRegistry()
    .register('good-model', async () => detector('good-model', { bad: false }, seen))
    .register('bad-model', async () => detector('bad-model', file, seen));
  const metrics = createMetrics(new Registry());
  const { log, lines } = memoryLogger('info');
  const config = (cams: unknown[]): Config => testConfig({ storage: { dataDir }, cameras: cams });
  const runtime = new Runtime({
    config: config(cameras),
    baseDir: dataDir,
    metrics,
    log,
    detection: new DetectionStage({ registry, metrics, log }),
    cameraDeps: { stopStepMs: 1000 },
  });
  cleanup = async () => {
    await runtime.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { runtime, file, seen, metrics, lines, config, dataDir };
}

describe('Runtime: a camera whose detectors do not load', () => {
  it('at start, is not started and is reported failed while the others run; a later apply starts it once the file is fixed', async () => {
    const { runtime, file, seen, metrics, lines, config, dataDir } = setup([cam('good', ['good-model']), cam('bad', ['bad-model'])]);
    await runtime.start();

    expect(runtime.runner('bad')).toBeUndefined();
    const good = runtime.runner('good');
    expect(good).toBeDefined();
    const bad = runtime.status().find((s) => s.id === 'bad');
    expect(bad).toMatchObject({ state: 'failed', kind: 'file', frames: 0, lastError: { code: 'MODEL_HASH_MISMATCH', message: expect.stringContaining('/models/bad-model.onnx') } });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/streetwatch_camera_failed\{camera="bad",code="MODEL_HASH_MISMATCH"\} 1/);
    expect(text).not.toMatch(/streetwatch_camera_failed\{camera="good"/);
    const logged = lines.find((l) => l.camera === 'bad' && l.level === 50);
    expect(logged).toMatchObject({ code: 'MODEL_HASH_MISMATCH', file: '/models/bad-model.onnx', msg: expect.stringContaining('config reload') });
    await waitFor(() => seen.includes('good'), 30_000, "the good camera's frames through its detector");

    // a reload with the file still bad: still failed, still not started, the good camera untouched
    const again = await runtime.apply(config([cam('good', ['good-model']), cam('bad', ['bad-model'])]), dataDir);
    expect(again).toMatchObject({ failed: ['bad'], unchanged: ['good'], added: [], changed: [] });
    expect(runtime.runner('bad')).toBeUndefined();
    expect(runtime.status().find((s) => s.id === 'bad')?.since).toBe(bad!.since);

    file.bad = false;
    const res = await runtime.apply(config([cam('good', ['good-model']), cam('bad', ['bad-model'])]), dataDir);
    expect(res).toMatchObject({ added: ['bad'], unchanged: ['good'], failed: [] });
    expect(runtime.runner('good')).toBe(good);
    expect(runtime.runner('bad')).toBeDefined();
    expect(await metrics.registry.metrics()).not.toMatch(/streetwatch_camera_failed\{camera="bad"/);
    await waitFor(() => seen.includes('bad'), 30_000, "the fixed camera's frames through its detector");
    expect(runtime.status().map((s) => s.id)).toEqual(['good', 'bad']);
  });

  it('removed from the config while failed, it leaves no status and no failed series behind', async () => {
    const { runtime, metrics, config, dataDir } = setup([cam('good', ['good-model']), cam('bad', ['bad-model'])]);
    await runtime.start();
    const res = await runtime.apply(config([cam('good', ['good-model'])]), dataDir);
    expect(res.removed).toEqual(['bad']);
    expect(runtime.status().map((s) => s.id)).toEqual(['good']);
    expect(await metrics.registry.metrics()).not.toMatch(/streetwatch_camera_failed\{camera="bad"/);
  });

  it('when running, keeps running on its previous config; the refused change is shown and applied once it loads', async () => {
    const { runtime, file, seen, config, dataDir } = setup([cam('a', ['good-model'])]);
    await runtime.start();
    const before = runtime.runner('a');
    const res = await runtime.apply(config([cam('a', ['bad-model'])]), dataDir);
    expect(res).toMatchObject({ refused: ['a'], changed: [], failed: [] });
    expect(runtime.runner('a')).toBe(before);
    expect(runtime.status()[0]).toMatchObject({ id: 'a', refused: { code: 'MODEL_HASH_MISMATCH' } });
    expect(runtime.status()[0]!.state).not.toBe('failed');
    seen.length = 0;
    await waitFor(() => seen.includes('a'), 30_000, 'frames still detected with the previous detector');

    file.bad = false;
    const fixed = await runtime.apply(config([cam('a', ['bad-model'])]), dataDir);
    expect(fixed).toMatchObject({ changed: ['a'], refused: [] });
    expect(runtime.runner('a')).not.toBe(before);
    expect(runtime.status()[0]!.refused).toBeUndefined();
  });

  it('a config mistake in detectors (unknown id) still rejects the start', async () => {
    const { runtime } = setup([cam('a', ['good-model']), cam('b', ['no-such-detector'])]);
    await expect(runtime.start()).rejects.toMatchObject({ code: 'DETECTOR_NOT_FOUND', message: expect.stringContaining("camera 'b'") });
    expect(runtime.status()).toEqual([]);
  });
});
