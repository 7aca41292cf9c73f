import ort from 'onnxruntime-node';
import { z } from 'zod';
import { sha256File } from '../../core/asset-manifests.js';
import { StreetwatchError, isStreetwatchError } from '../../core/errors.js';
import type { Frame } from '../../core/types.js';
import { DETECTOR_API, defineDetector, type Box, type Detection, type DetectorDefinition, type DetectorInstance } from '../contract.js';
import { decodePicodet, decodeYolov8, decodeYolox } from './decode.js';
import { loadModelDetectorManifests, type OnnxModelManifest } from './manifest.js';
import { CandidateBuffer, nmsClassAware } from './nms.js';
import { Preprocessor, toNormX, toNormY, type Placement } from './preprocess.js';

export { loadModelDetectorManifests };
export type { OnnxModelManifest };

const optionsSchema = z.strictObject({
  /** Score threshold for every class (overrides the manifest's thresholds; `perClass` options still win). */
  threshold: z.number().min(0).max(1).optional(),
  /** Per-class thresholds by class name, on top of the manifest's. */
  perClass: z.record(z.string(), z.number().min(0).max(1)).optional(),
  /** IoU above which a lower-scored box of the same class is suppressed. */
  nmsIou: z.number().min(0).max(1).optional(),
  /** Only report these classes (model class names). */
  classes: z.array(z.string()).optional(),
  /** Intra-op threads of this model's session (default: detection.threads). */
  threads: z.number().int().min(1).max(64).optional(),
});

/**
 * A detector built from a model manifest alone: YOLOX, YOLOv8 and PicoDet families. The file is found by the
 * asset resolver, checked against the manifest's sha256, and its real input/output shapes against the
 * manifest's, before the first frame — a wrong file fails at load, naming it.
 */
export function onnxDetectorFromManifest(m: OnnxModelManifest): DetectorDefinition<typeof optionsSchema> {
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
      input: { width: m.input.width, height: m.input.height, pixelFormat: m.input.colour === 'BGR' ? 'bgr24' : 'rgb24' },
      maxBatch: m.maxBatch,
      options: optionsSchema,
    },
    create: (options, ctx) => createOnnxDetector(m, options, ctx.resolveAsset, options.threads ?? ctx.threads),
  });
}

async function createOnnxDetector(
  m: OnnxModelManifest,
  options: z.output<typeof optionsSchema>,
  resolveAsset: (name: string) => string,
  threads: number,
): Promise<DetectorInstance> {
  for (const c of [...(options.classes ?? []), ...Object.keys(options.perClass ?? {})]) {
    if (!m.classes.includes(c)) throw new StreetwatchError('DETECTOR_OPTIONS_INVALID', `detector '${m.id}': unknown class '${c}' in options; the model's classes are listed in ${m.manifestPath}`);
  }
  let path: string;
  try {
    path = resolveAsset(m.file);
  } catch (e) {
    throw new StreetwatchError('MODEL_FILE_MISSING', `detector '${m.id}': model file ${m.file} not found (${isStreetwatchError(e) ? e.message : String(e)})`, { cause: e, details: { file: m.file } });
  }
  const actual = await sha256File(path);
  if (actual !== m.sha256) {
    throw new StreetwatchError(
      'MODEL_HASH_MISMATCH',
      `detector '${m.id}': model file ${path} has sha256 ${actual}, but ${m.manifestPath} expects ${m.sha256}. Replace the file with the right one (npm run fetch-assets) or fix the manifest.`,
      { details: { file: path, expected: m.sha256, actual } },
    );
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
  } catch (e) {
    throw new StreetwatchError('MODEL_LOAD_FAILED', `detector '${m.id}': onnxruntime cannot load ${path} (corrupt or not an ONNX model?): ${(e as Error).message}`, { cause: e, details: { file: path } });
  }
  try {
    checkShapes(m, session, path);
  } catch (e) {
    await session.release();
    throw e;
  }
  return new OnnxDetector(m, options, session);
}

type Dims = readonly (number | string | null)[];

function metadataShape(session: ort.InferenceSession, name: string, which: 'input' | 'output'): Dims | undefined {
  const list = (which === 'input' ? session.inputMetadata : session.outputMetadata) as unknown as { name: string; shape?: Dims }[];
  return list.find((x) => x.name === name)?.shape;
}

function sameDims(expected: readonly (number | null)[], actual: Dims): boolean {
  return expected.length === actual.length && expected.every((d, i) => {
    const a = actual[i];
    const dynamic = typeof a !== 'number' || a < 0;
    return d === null ? dynamic : a === d;
  });
}

const fmt = (d: Dims) => `[${d.map((x) => (typeof x === 'number' && x >= 0 ? x : '?')).join(',')}]`;

function checkShapes(m: OnnxModelManifest, session: ort.InferenceSession, path: string): void {
  const problems: string[] = [];
  const inShape = metadataShape(session, m.input.tensor, 'input');
  if (!inShape) problems.push(`input '${m.input.tensor}' is missing (the file has ${session.inputNames.join(', ')})`);
  else if (!sameDims(m.input.shape, inShape)) problems.push(`input '${m.input.tensor}' expected ${fmt(m.input.shape)}, actual ${fmt(inShape)}`);
  for (const o of m.outputs) {
    const s = metadataShape(session, o.name, 'output');
    if (!s) problems.push(`output '${o.name}' is missing (the file has ${session.outputNames.join(', ')})`);
    else if (!sameDims(o.shape, s)) problems.push(`output '${o.name}' expected ${fmt(o.shape)}, actual ${fmt(s)}`);
  }
  if (problems.length) {
    throw new StreetwatchError('MODEL_SHAPE_MISMATCH', `detector '${m.id}': ${path} does not match ${m.manifestPath}: ${problems.join('; ')}`, { details: { file: path, problems } });
  }
}

class OnnxDetector implements DetectorInstance {
  private readonly pre: Preprocessor;
  /** Input tensors and candidate buffers for concurrent runs: reused, grown only to the host's concurrency. */
  private readonly pool: { input: Float32Array; cand: CandidateBuffer }[] = [];
  private inFlight = 0;
  private readonly minScore: Float32Array;
  private readonly floor: number;
  private readonly allowed: Uint8Array;
  private readonly iou: number;
  private v8best: Float32Array | undefined;
  private v8arg: Int32Array | undefined;
  private closed = false;
  private idle: (() => void) | undefined;

  constructor(
    private readonly m: OnnxModelManifest,
    options: z.output<typeof optionsSchema>,
    private readonly session: ort.InferenceSession,
  ) {
    this.pre = new Preprocessor(m.input);
    const n = m.classes.length;
    this.minScore = new Float32Array(n);
    this.allowed = new Uint8Array(n);
    for (let c = 0; c < n; c++) {
      const name = m.classes[c]!;
      // an option beats the manifest; a per-class value beats a general one
      this.minScore[c] = options.perClass?.[name] ?? options.threshold ?? m.thresholds.perClass[name] ?? m.thresholds.default;
      this.allowed[c] = !options.classes || options.classes.includes(name) ? 1 : 0;
    }
    this.floor = Math.min(...this.minScore);
    this.iou = options.nmsIou ?? m.nms.iou;
  }

  async warmup(): Promise<void> {
    const grey: Frame = { cameraId: 'warmup', seq: 0, ptsSec: 0, wallMs: 0, width: 64, height: 36, format: 'rgb24', data: Buffer.alloc(64 * 36 * 3, 114) };
    await this.detect([grey], new AbortController().signal);
  }

  async detect(batch: readonly Frame[], signal: AbortSignal): Promise<Detection[][]> {
    const out: Detection[][] = [];
    for (const frame of batch) {
      if (signal.aborted) throw new StreetwatchError('DETECTOR_TIMEOUT', `detector '${this.m.id}': aborted`);
      out.push(await this.one(frame));
    }
    return out;
  }

  /** One frame through the model; concurrent calls (the host's pool) each get their own buffers. */
  private async one(frame: Frame): Promise<Detection[]> {
    if (this.closed) throw new StreetwatchError('STOPPED', `detector '${this.m.id}' is closed`);
    const buf = this.pool.pop() ?? { input: new Float32Array(this.pre.imageSize), cand: new CandidateBuffer() };
    this.inFlight++;
    try {
      return await this.runFrame(frame, buf.input, buf.cand);
    } finally {
      this.pool.push(buf);
      if (--this.inFlight === 0) this.idle?.();
    }
  }

  private async runFrame(frame: Frame, input: Float32Array, cand: CandidateBuffer): Promise<Detection[]> {
    const p = this.pre.write(frame, input, 0);
    const { width: W, height: H } = this.m.input;
    const feeds: Record<string, ort.Tensor> = { [this.m.input.tensor]: new ort.Tensor('float32', input, [1, 3, H, W]) };
    if (this.m.family === 'picodet') feeds.scale_factor = new ort.Tensor('float32', Float32Array.from([H / frame.height, W / frame.width]), [1, 2]);
    const results = await this.session.run(feeds);
    const first = results[this.m.outputs[0]!.name]!;
    const data = first.data as Float32Array;
    cand.reset();
    if (this.m.family === 'yolox') {
      decodeYolox(data, W, H, this.m.classes.length, this.minScore, this.floor, cand);
    } else if (this.m.family === 'yolov8') {
      const anchors = Number(first.dims[2]);
      // decoded synchronously, so one scratch pair serves every concurrent run
      if (!this.v8best || this.v8best.length < anchors) {
        this.v8best = new Float32Array(anchors);
        this.v8arg = new Int32Array(anchors);
      }
      decodeYolov8(data, anchors, this.m.classes.length, this.minScore, this.floor, cand, this.v8best, this.v8arg!);
    } else {
      decodePicodet(data, Number(first.dims[0]), this.minScore, cand);
    }
    for (const t of Object.values(results)) t.dispose?.();
    return this.finish(p, frame, cand);
  }

  private finish(p: Placement, frame: Frame, c: CandidateBuffer): Detection[] {
    const keep = this.m.family === 'picodet' ? Array.from({ length: c.count }, (_, i) => i) : nmsClassAware(c, this.iou);
    const dets: Detection[] = [];
    const picodet = this.m.family === 'picodet';
    for (const i of keep) {
      const cls = c.classes[i]!;
      if (!this.allowed[cls]) continue;
      const bx = c.boxes;
      // PicoDet boxes are already in source pixels; the others are in model-input pixels.
      const box: Box = picodet
        ? [clamp(bx[i * 4]! / frame.width), clamp(bx[i * 4 + 1]! / frame.height), clamp(bx[i * 4 + 2]! / frame.width), clamp(bx[i * 4 + 3]! / frame.height)]
        : [toNormX(p, bx[i * 4]!), toNormY(p, bx[i * 4 + 1]!), toNormX(p, bx[i * 4 + 2]!), toNormY(p, bx[i * 4 + 3]!)];
      if (!(box[2] > box[0] && box[3] > box[1])) continue;
      const label = this.m.classes[cls]!;
      dets.push({ box, score: Math.min(1, c.scores[i]!), label, semantic: this.m.labelMap[label] ?? undefined });
    }
    return dets;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.inFlight > 0) await new Promise<void>((r) => (this.idle = r));
    await this.session.release();
  }
}

function clamp(v: number): number {
  return Math.min(1, Math.max(0, v));
}
