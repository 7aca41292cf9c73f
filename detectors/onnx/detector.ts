import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { StreetwatchError } from '../../core/errors.js';
import type { Frame } from '../../core/types.js';
import { DETECTOR_API, defineDetector, type Box, type Detection, type DetectorDefinition, type DetectorInstance } from '../contract.js';
import { decodePicodet, decodeYolov8, decodeYolox } from './decode.js';
import { fitToFrames, loadModelDetectorManifests, YOLOX_STRIDES, type ModelDetectorManifest } from './manifest.js';
import { CandidateBuffer, nmsClassAware } from './nms.js';
import { Preprocessor, toNormX, toNormY, type Placement } from './preprocess.js';
import { InProcessLane, openModelSession, WorkerLane, type RawOutput, type RunLane } from './session.js';

/** Worker lanes per ONNX detector by default: one per core, at least 2 (off the event loop), at most 4. */
export const DEFAULT_LANES = Math.min(4, Math.max(2, availableParallelism()));

export { loadModelDetectorManifests };
export type { ModelDetectorManifest };

/** The options every manifest-based detector takes; class names are checked against the model's classes. */
export function onnxDetectorOptions(m: ModelDetectorManifest) {
  const cls = z.enum(m.classes as [string, ...string[]]);
  const p = z.number().min(0).max(1);
  return z.strictObject({
    /** Score threshold for every class: replaces the manifest's thresholds (per-class ones included). */
    threshold: p.optional(),
    /** Thresholds by class name; beat `threshold` and the manifest. */
    perClass: z.partialRecord(cls, p).optional(),
    /** IoU above which a lower-scored box of the same class is suppressed (default: the manifest's nms.iou). */
    nmsIou: p.optional(),
    /** Report only these classes. */
    classes: z.array(cls).min(1).optional(),
    /**
     * Lanes: runs in parallel, each on its own session in a worker thread; 1 runs in this thread. For a batch-1
     * model this is how several frames of one detect() call are spread over cores. The default keeps inference
     * off the event loop (onnxruntime-node's run() holds the thread for the whole inference, ≈ 17 ms for
     * YOLOX-Nano, stalling the ffmpeg pipes, the console and Kafka heartbeats): one lane per core, 2 to 4.
     */
    concurrency: z.number().int().min(1).max(16).default(DEFAULT_LANES),
    /** Intra-op threads of each run (default: the host's detection.threads). */
    threads: z.number().int().min(1).max(64).optional(),
  });
}

export type OnnxDetectorOptions = z.output<ReturnType<typeof onnxDetectorOptions>>;

/**
 * A detector built from a model manifest alone (YOLOX, YOLOv8, PicoDet families). At create the file is found
 * on the asset path, checked against the manifest's sha256, parsed, and its real tensors compared with the
 * manifest's — a wrong file fails before the first frame, with a code and its name.
 */
export function onnxDetectorFromManifest(m: ModelDetectorManifest): DetectorDefinition<ReturnType<typeof onnxDetectorOptions>> {
  return defineDetector({
    manifest: {
      id: m.id,
      version: m.version,
      api: `^${DETECTOR_API}`,
      description: m.notes,
      licence: m.licence,
      family: m.family,
      labels: m.classes,
      labelMap: m.labelMap,
      // what the model is fed; frames still arrive as rgb24 and the preprocessing swaps channels itself
      input: { width: m.input.width, height: m.input.height, pixelFormat: m.input.colour === 'BGR' ? 'bgr24' : 'rgb24' },
      maxBatch: m.maxBatch,
      options: onnxDetectorOptions(m),
    },
    async create(options, ctx) {
      const threads = options.threads ?? ctx.threads;
      const fitted = fitToFrames(m, ctx.frames ?? []);
      if (fitted !== m) ctx.log.info({ detector: m.id, input: `${fitted.input.width}×${fitted.input.height}`, declared: `${m.input.width}×${m.input.height}` }, `detector ${m.id}: input fitted to the frames`);
      const { path, session, model } = await openModelSession(fitted, ctx.resolveAsset, threads);
      let lanes: RunLane[];
      if (options.concurrency === 1) {
        lanes = [new InProcessLane(fitted, session)];
      } else {
        // the main-thread session only proved the file; each worker loads its own
        await session.release();
        const started = await Promise.allSettled(Array.from({ length: options.concurrency }, () => WorkerLane.start(fitted, path, threads, model)));
        lanes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
        const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed) {
          await Promise.all(lanes.map((l) => l.release()));
          throw failed.reason;
        }
      }
      return detectorOnLanes(fitted, options, lanes);
    },
  });
}

/**
 * The detector over lanes that are already running. `create` opens real sessions; tests hand in lanes of
 * their own to check batching and ordering on outputs they control.
 */
export function detectorOnLanes(m: ModelDetectorManifest, options: OnnxDetectorOptions, lanes: RunLane[]): DetectorInstance {
  return new OnnxDetector(m, options, lanes);
}

interface LaneState {
  lane: RunLane;
  cand: CandidateBuffer;
  placements: Placement[];
}

class OnnxDetector implements DetectorInstance {
  private readonly pre: Preprocessor;
  private readonly free: LaneState[];
  private readonly all: LaneState[];
  private readonly waiting: ((s: LaneState | undefined) => void)[] = [];
  private readonly minScore: Float32Array;
  private readonly floor: number;
  private readonly iou: number;
  private readonly strides: readonly number[];
  /** YOLOv8 arg-max scratch; decoding is synchronous, so one pair serves every lane. */
  private v8best = new Float32Array(0);
  private v8arg = new Int32Array(0);
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly m: ModelDetectorManifest,
    options: OnnxDetectorOptions,
    lanes: RunLane[],
  ) {
    this.pre = new Preprocessor(m.input);
    this.all = lanes.map((lane) => ({ lane, cand: new CandidateBuffer(), placements: [] }));
    this.free = [...this.all];
    const n = m.classes.length;
    this.minScore = new Float32Array(n);
    const allowed = options.classes ? new Set<string>(options.classes) : undefined;
    for (let c = 0; c < n; c++) {
      const name = m.classes[c]!;
      const perClass = options.perClass as Record<string, number | undefined> | undefined;
      // an unwanted class gets an unreachable threshold, so decoders drop it before any box arithmetic
      this.minScore[c] = allowed && !allowed.has(name) ? Infinity : (perClass?.[name] ?? options.threshold ?? m.thresholds.perClass[name] ?? m.thresholds.default);
    }
    this.floor = this.minScore.reduce((a, b) => Math.min(a, b), Infinity);
    this.iou = options.nmsIou ?? m.nms.iou;
    this.strides = m.strides ?? YOLOX_STRIDES;
  }

  async warmup(): Promise<void> {
    // one grey frame per lane, so every worker's session has run once too
    const grey: Frame = { cameraId: 'warmup', seq: 0, ptsSec: 0, wallMs: 0, width: 64, height: 36, format: 'rgb24', data: Buffer.alloc(64 * 36 * 3, 114) };
    const signal = new AbortController().signal;
    // separate calls, so that even a batching model runs once on every lane
    await Promise.all(this.all.map(() => this.detect([grey], signal)));
  }

  /**
   * Frames go to the model up to maxBatch per run; the runs of one call share the lanes (at most
   * `concurrency` at once). Results are in frame order whatever order the runs finish in.
   */
  async detect(batch: readonly Frame[], signal: AbortSignal): Promise<Detection[][]> {
    for (const f of batch) {
      if (f.data.length !== f.width * f.height * 3) {
        throw new StreetwatchError('IMAGE_INVALID', `detector '${this.m.id}': frame ${f.cameraId}#${f.seq} has ${f.data.length} bytes, not ${f.width}×${f.height}×3 (rgb24)`);
      }
    }
    const out: Detection[][] = new Array(batch.length);
    const max = this.m.maxBatch;
    const runs: Promise<void>[] = [];
    for (let start = 0; start < batch.length; start += max) {
      const chunk = batch.slice(start, start + max);
      runs.push(
        this.withLane(signal, async (s) => {
          const dets = await this.runChunk(s, chunk);
          for (let i = 0; i < dets.length; i++) out[start + i] = dets[i]!;
        }),
      );
    }
    await Promise.all(runs);
    return out;
  }

  private async withLane(signal: AbortSignal, fn: (s: LaneState) => Promise<void>): Promise<void> {
    const s = await this.acquire(signal);
    try {
      if (signal.aborted) throw this.aborted();
      await fn(s);
    } finally {
      this.releaseLane(s);
    }
  }

  private acquire(signal: AbortSignal): Promise<LaneState> {
    if (this.closed) return Promise.reject(new StreetwatchError('STOPPED', `detector '${this.m.id}' is closed`));
    if (signal.aborted) return Promise.reject(this.aborted());
    const s = this.free.pop();
    if (s) return Promise.resolve(s);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiting.indexOf(take);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(this.aborted());
      };
      const take = (lane: LaneState | undefined) => {
        signal.removeEventListener('abort', onAbort);
        if (lane) resolve(lane);
        else reject(new StreetwatchError('STOPPED', `detector '${this.m.id}' is closed`));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(take);
    });
  }

  private releaseLane(s: LaneState): void {
    const next = this.closed ? undefined : this.waiting.shift();
    if (next) next(s);
    else {
      this.free.push(s);
      if (this.closed && this.free.length === this.all.length) this.drained?.();
    }
  }

  private drained: (() => void) | undefined;

  private aborted(): StreetwatchError {
    return new StreetwatchError('DETECTOR_TIMEOUT', `detector '${this.m.id}': detect aborted (deadline)`);
  }

  private async runChunk(s: LaneState, frames: readonly Frame[]): Promise<Detection[][]> {
    const { lane } = s;
    const { width: W, height: H } = this.m.input;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      s.placements[i] = this.pre.write(f, lane.input, i);
      lane.scale[2 * i] = H / f.height;
      lane.scale[2 * i + 1] = W / f.width;
    }
    const outputs = await lane.run(frames.length);
    const det = outputs[this.m.outputs[0]!.name];
    if (!det || !(det.data instanceof Float32Array)) throw new Error(`detector '${this.m.id}': output '${this.m.outputs[0]!.name}' is missing or not float32`);
    const result: Detection[][] = [];
    // PicoDet rows of all images are concatenated: image i starts after the rows of images before it
    let rowStart = 0;
    for (let i = 0; i < frames.length; i++) {
      const cand = s.cand;
      cand.reset();
      const rows = this.m.family === 'picodet' ? this.picodetRows(det, outputs, i, frames.length) : 0;
      this.decode(det, i, frames.length, cand, rowStart, rows);
      rowStart += rows;
      result.push(this.finish(s.placements[i]!, frames[i]!, cand));
    }
    return result;
  }

  /** Rows of image i: output 0's first dimension for a single image (output 1 is not a row count). */
  private picodetRows(det: RawOutput, outputs: Record<string, RawOutput>, i: number, n: number): number {
    if (n === 1) return det.dims[0]!;
    const counts = outputs[this.m.perImageCounts!];
    if (!counts) throw new Error(`detector '${this.m.id}': output '${this.m.perImageCounts}' (per-image counts) is missing`);
    return Number(counts.data[i]);
  }

  private decode(det: RawOutput, i: number, n: number, cand: CandidateBuffer, rowStart: number, rows: number): void {
    const data = det.data as Float32Array;
    const nc = this.m.classes.length;
    const perImage = data.length / n;
    switch (this.m.family) {
      case 'yolox':
        decodeYolox(data, i * perImage, this.m.input.width, this.m.input.height, this.strides, nc, this.minScore, this.floor, cand);
        break;
      case 'yolov8': {
        const anchors = det.dims[2]!;
        if (this.v8best.length < anchors) {
          this.v8best = new Float32Array(anchors);
          this.v8arg = new Int32Array(anchors);
        }
        decodeYolov8(data, i * perImage, anchors, nc, this.minScore, this.floor, cand, this.v8best, this.v8arg);
        break;
      }
      case 'picodet':
        decodePicodet(data, rowStart, rows, this.minScore, cand);
        break;
    }
  }

  private finish(p: Placement, frame: Frame, c: CandidateBuffer): Detection[] {
    // PicoDet's graph has run NMS already; its boxes are in frame pixels, the others' in model-input pixels
    const picodet = this.m.family === 'picodet';
    const kept = picodet ? identity(c) : nmsClassAware(c, this.iou);
    const dets: Detection[] = [];
    const b = c.boxes;
    for (let k = 0; k < kept; k++) {
      const i = c.keep[k]!;
      const o = i * 4;
      const box: Box = picodet
        ? [clamp(b[o]! / frame.width), clamp(b[o + 1]! / frame.height), clamp(b[o + 2]! / frame.width), clamp(b[o + 3]! / frame.height)]
        : [toNormX(p, b[o]!), toNormY(p, b[o + 1]!), toNormX(p, b[o + 2]!), toNormY(p, b[o + 3]!)];
      // a box wholly in the letterbox padding (or degenerate) collapses to zero area once clipped
      if (!(box[2] > box[0] && box[3] > box[1])) continue;
      const label = this.m.classes[c.classes[i]!]!;
      const semantic = this.m.labelMap[label];
      const d: Detection = { box, score: Math.min(1, c.scores[i]!), label };
      if (semantic) d.semantic = semantic;
      dets.push(d);
    }
    return dets;
  }

  async close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w(undefined);
      if (this.free.length < this.all.length) await new Promise<void>((r) => (this.drained = r));
      await Promise.all(this.all.map((s) => s.lane.release()));
    })();
    return this.closing;
  }
}

/** Keeps every candidate, in decode order (for outputs that are NMS'd already). */
function identity(c: CandidateBuffer): number {
  for (let i = 0; i < c.count; i++) c.keep[i] = i;
  return c.count;
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
