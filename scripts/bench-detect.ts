import ort from 'onnxruntime-node';
import { resolveAsset } from '../core/assets.js';
import { createLogger } from '../core/log.js';
import type { Frame } from '../core/types.js';
import { DetectorHost } from '../detectors/host.js';
import { loadModelDetectorManifests, onnxDetectorFromManifest } from '../detectors/onnx/detector.js';
import staticObject from '../detectors/static-change/index.js';
import { oxfordFrame } from '../tests/helpers/frames.js';

/**
 * `npm run bench -- detect`: per model, median ms of the raw session.run on a prepared tensor vs the full
 * detector (preprocess from a 640×360 rgb24 frame + run + decode + NMS), their ratio, and frames/s through
 * the host at batch 1, 4 and 8 (models with maxBatch 1 run a batch as a pool of concurrent single runs);
 * then ms per frame of the static-object detector on the real video.
 */
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const round = (x: number) => Math.round(x * 100) / 100;

export async function benchDetect(iterations = 40): Promise<Record<string, unknown>> {
  const frames: Frame[] = [0, 12, 24, 36, 48, 60, 72, 84].map((i) => oxfordFrame(640, 360, i));
  const log = createLogger({ level: 'error' });
  const models: Record<string, unknown> = {};
  for (const m of loadModelDetectorManifests()) {
    process.stderr.write(`bench detect: ${m.id}…\n`);
    const session = await ort.InferenceSession.create(resolveAsset(m.file), { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', logSeverityLevel: 3 });
    const { width: W, height: H } = m.input;
    const feeds: Record<string, ort.Tensor> = { [m.input.tensor]: new ort.Tensor('float32', new Float32Array(3 * W * H).fill(0.5), [1, 3, H, W]) };
    if (m.family === 'picodet') feeds.scale_factor = new ort.Tensor('float32', Float32Array.from([H / 360, W / 640]), [1, 2]);
    const raw: number[] = [];
    for (let i = 0; i < iterations + 5; i++) {
      const t = performance.now();
      await session.run(feeds);
      if (i >= 5) raw.push(performance.now() - t);
    }
    await session.release();

    const def = onnxDetectorFromManifest(m);
    const inst = await def.create(def.manifest.options.parse({}), { log, resolveAsset, threads: 1 });
    const full: number[] = [];
    for (let i = 0; i < iterations + 5; i++) {
      const t = performance.now();
      await inst.detect([frames[i % frames.length]!], new AbortController().signal);
      if (i >= 5) full.push(performance.now() - t);
    }
    await inst.close();

    const fpsByBatch: Record<string, number> = {};
    for (const n of [1, 4, 8]) {
      const host = new DetectorHost({ def, options: def.manifest.options.parse({}), ctx: { log, resolveAsset, threads: 1 }, concurrency: Math.min(n, 2) });
      await host.start();
      const batch = Array.from({ length: n }, (_, i) => ({ ...frames[i % frames.length]!, cameraId: `cam-${i}` }));
      const rounds = Math.max(3, Math.ceil(24 / n));
      const t = performance.now();
      for (let r = 0; r < rounds; r++) await host.detect(batch);
      fpsByBatch[String(n)] = round((rounds * n) / ((performance.now() - t) / 1000));
      await host.stop();
    }
    models[m.id] = { rawMs: round(median(raw)), fullMs: round(median(full)), overhead: round(median(full) / median(raw)), fpsByBatch, maxBatch: m.maxBatch };
  }

  process.stderr.write('bench detect: static-object…\n');
  const so = await staticObject.create(staticObject.manifest.options.parse({}), { log, resolveAsset, threads: 1 });
  const video = [...Array(96).keys()].map((i) => ({ ...oxfordFrame(640, 360, i), wallMs: i * 500 }));
  const times: number[] = [];
  for (let k = 0; k < 3; k++) {
    for (const f of video) {
      const t = performance.now();
      await so.detect([{ ...f, wallMs: f.wallMs + k * 48_000 }], new AbortController().signal);
      times.push(performance.now() - t);
    }
  }
  await so.close();
  return { bench: 'detect', frame: '640x360 rgb24', threads: 1, models, staticObjectMs: round(median(times)) };
}
