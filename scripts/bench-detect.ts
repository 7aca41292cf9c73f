import { availableParallelism } from 'node:os';
import ort from 'onnxruntime-node';
import { resolveAsset } from '../core/assets.js';
import { createLogger } from '../core/log.js';
import type { Frame } from '../core/types.js';
import { loadModelDetectorManifests, onnxDetectorFromManifest } from '../detectors/onnx/detector.js';
import { Preprocessor } from '../detectors/onnx/preprocess.js';
import { sessionOptions } from '../detectors/onnx/session.js';
import staticObject from '../detectors/static-change/index.js';
import { oxfordFrame } from '../tests/helpers/frames.js';

/**
 * `npm run bench -- detect`: per model,
 *  - rawMs: median of session.run alone on a tensor prepared beforehand,
 *  - fullMs: median of the whole detector on a 640×360 rgb24 frame (preprocess + run + decode + NMS),
 *  - overhead = fullMs / rawMs (the cost of our pre/post-processing), and preprocessMs, the part of it that
 *    is preprocessing,
 *  - fpsByBatch: frames/s for detect() calls of 1, 4 and 8 frames — one tensor batch where the model takes
 *    it, otherwise a pool of parallel runs (worker threads, one session each) — with `via` saying which;
 * then ms per frame of the static-object detector on the real video.
 *
 * Raw and full runs alternate, one of each per step: this machine is shared, and alternating makes a burst
 * of someone else's load hit both medians alike instead of skewing the ratio. `cpu` repeats the three numbers
 * in CPU time of this process (one intra-op thread runs on the calling thread), which other processes'
 * load barely moves.
 */
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const round = (x: number) => Math.round(x * 100) / 100;
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

export async function benchDetect(iterations = 60): Promise<Record<string, unknown>> {
  const frames: Frame[] = [0, 12, 24, 36, 48, 60, 72, 84].map((i) => oxfordFrame(640, 360, i));
  const log = createLogger({ level: 'error' });
  const ctx = { log, resolveAsset: (n: string) => resolveAsset(n), threads: 1 };
  const cores = availableParallelism();
  const signal = new AbortController().signal;
  const models: Record<string, unknown> = {};
  for (const m of loadModelDetectorManifests()) {
    process.stderr.write(`bench detect: ${m.id}…\n`);
    const { width: W, height: H } = m.input;
    const session = await ort.InferenceSession.create(resolveAsset(m.file), sessionOptions(1));
    const tensor = new Float32Array(3 * W * H);
    const pre = new Preprocessor(m.input);
    const preTimes: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      pre.write(frames[i % frames.length]!, tensor);
      preTimes.push(performance.now() - t);
    }
    pre.write(frames[0]!, tensor);
    const feeds: Record<string, ort.Tensor> = { [m.input.tensor]: new ort.Tensor('float32', tensor, [1, 3, H, W]) };
    if (m.input.scaleFactor) feeds[m.input.scaleFactor.tensor] = new ort.Tensor('float32', Float32Array.from([H / 360, W / 640]), [1, 2]);

    const def = onnxDetectorFromManifest(m);
    const inst = await def.create(def.manifest.options.parse({}), ctx);
    await inst.warmup?.();
    for (let i = 0; i < 5; i++) await session.run(feeds);
    const raw: number[] = [];
    const full: number[] = [];
    const rawCpu: number[] = [];
    const fullCpu: number[] = [];
    for (let i = 0; i < iterations; i++) {
      let t = performance.now();
      let c = process.cpuUsage();
      await session.run(feeds);
      raw.push(performance.now() - t);
      rawCpu.push(cpuMs(process.cpuUsage(c)));
      t = performance.now();
      c = process.cpuUsage();
      await inst.detect([frames[i % frames.length]!], signal);
      full.push(performance.now() - t);
      fullCpu.push(cpuMs(process.cpuUsage(c)));
    }
    await inst.close();
    await session.release();

    const fpsByBatch: Record<string, { fps: number; via: string }> = {};
    for (const n of [1, 4, 8]) {
      const tensorBatch = n <= m.maxBatch;
      const concurrency = tensorBatch ? 1 : Math.min(n, cores);
      const pooled = await def.create(def.manifest.options.parse({ concurrency }), ctx);
      await pooled.warmup?.();
      const batch = Array.from({ length: n }, (_, i) => ({ ...frames[i % frames.length]!, cameraId: `cam-${i}` }));
      const rounds = Math.max(4, Math.ceil(48 / n));
      const t = performance.now();
      for (let r = 0; r < rounds; r++) await pooled.detect(batch, signal);
      fpsByBatch[String(n)] = { fps: round((rounds * n) / ((performance.now() - t) / 1000)), via: tensorBatch ? (n === 1 ? 'single run' : `tensor batch ${n}`) : `pool of ${concurrency} worker sessions` };
      await pooled.close();
    }
    models[m.id] = {
      rawMs: round(median(raw)),
      fullMs: round(median(full)),
      overhead: round(median(full) / median(raw)),
      preprocessMs: round(median(preTimes)),
      cpu: { rawMs: round(median(rawCpu)), fullMs: round(median(fullCpu)), overhead: round(median(fullCpu) / median(rawCpu)) },
      fpsByBatch,
      maxBatch: m.maxBatch,
    };
  }

  process.stderr.write('bench detect: static-object…\n');
  const so = await staticObject.create(staticObject.manifest.options.parse({}), ctx);
  const video = [...Array(96).keys()].map((i) => ({ ...oxfordFrame(640, 360, i), wallMs: i * 500 }));
  const times: number[] = [];
  for (let k = 0; k < 3; k++) {
    for (const f of video) {
      const t = performance.now();
      await so.detect([{ ...f, wallMs: f.wallMs + k * 48_000 }], signal);
      times.push(performance.now() - t);
    }
  }
  await so.close();
  return { bench: 'detect', frame: '640x360 rgb24', threadsPerRun: 1, cores, models, staticObjectMs: round(median(times)) };
}
