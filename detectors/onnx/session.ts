import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { sha256File } from '../../core/asset-manifests.js';
import { StreetwatchError, isStreetwatchError } from '../../core/errors.js';
import type { ModelDetectorManifest } from './manifest.js';
import { reshapeModel } from './reshape.js';

/**
 * Opening a model file safely (find it, prove it is the pinned file, parse it, prove its tensors are the
 * manifest's) and running it: in this thread, or on a pool of worker threads.
 *
 * Why workers: onnxruntime-node 1.30's `session.run` returns a promise but does the whole inference
 * synchronously on the JS thread (inside a setImmediate), so two "concurrent" runs on one session take turns
 * and block the event loop meanwhile. Parallel runs need one session per worker thread.
 */

export function sessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', logSeverityLevel: 3 };
}

/**
 * Finds, verifies, parses and shape-checks the model file. Every failure is a coded error naming the file. A
 * fitted manifest (fitToFrames) gets the file with its declared shapes rewritten to its own (`model`, the bytes
 * a worker lane must load too).
 */
export async function openModelSession(
  m: ModelDetectorManifest,
  resolveAsset: (name: string) => string,
  threads: number,
): Promise<{ path: string; session: ort.InferenceSession; model?: Uint8Array }> {
  let path: string;
  try {
    path = resolveAsset(m.file);
  } catch (e) {
    // the resolver's own message already lists the folders it searched and how to fill them
    const inner = isStreetwatchError(e) ? e.message : String(e);
    const advice = inner.includes('fetch-assets') ? '' : ` Put '${m.file}' on the asset path or run 'npm run fetch-assets'.`;
    throw new StreetwatchError('MODEL_FILE_MISSING', `detector '${m.id}' (${m.manifestPath}): model file missing — ${inner}${advice}`, {
      cause: e,
      details: { detector: m.id, file: m.file },
    });
  }
  const actual = await sha256File(path);
  if (actual !== m.sha256) {
    throw new StreetwatchError(
      'MODEL_HASH_MISMATCH',
      `detector '${m.id}': model file ${path} is not the file ${m.manifestPath} pins: sha256 expected ${m.sha256}, actual ${actual}. ` +
        `Replace it with the right file ('npm run fetch-assets'), or if the new file is intended, update sha256 and bytes in the manifest.`,
      { details: { detector: m.id, file: path, expected: m.sha256, actual } },
    );
  }
  let session: ort.InferenceSession;
  let model: Uint8Array | undefined;
  try {
    if (m.fittedFrom) {
      const o = m.outputs[0]!;
      model = reshapeModel(await readFile(path), { name: m.input.tensor, dims: m.input.shape }, [{ name: o.name, dims: o.shape }]);
    }
    session = model ? await ort.InferenceSession.create(model, sessionOptions(threads)) : await ort.InferenceSession.create(path, sessionOptions(threads));
  } catch (e) {
    throw new StreetwatchError('MODEL_LOAD_FAILED', `detector '${m.id}': onnxruntime cannot load ${path}${m.fittedFrom ? ` at ${m.input.width}×${m.input.height} (input.fit)` : ''}: the file is corrupt or not an ONNX model (${(e as Error).message})`, {
      cause: e,
      details: { detector: m.id, file: path },
    });
  }
  try {
    checkModelShapes(m, session, path);
  } catch (e) {
    await session.release();
    throw e;
  }
  return { path, session, ...(model ? { model } : {}) };
}

type Dims = readonly (number | string | null | undefined)[];

function metadataShape(session: ort.InferenceSession, name: string, which: 'input' | 'output'): Dims | undefined {
  const list = (which === 'input' ? session.inputMetadata : session.outputMetadata) as readonly { name: string; isTensor: boolean; shape?: Dims }[];
  const meta = list.find((x) => x.name === name);
  return meta ? (meta.shape ?? []) : undefined;
}

/** A declared null matches a dynamic dimension only; a declared number matches that number only. */
export function sameDims(expected: readonly (number | null)[], actual: Dims): boolean {
  return (
    expected.length === actual.length &&
    expected.every((d, i) => {
      const a = actual[i];
      const dynamic = typeof a !== 'number' || a < 0;
      return d === null ? dynamic : a === d;
    })
  );
}

export const formatDims = (d: Dims): string => `[${d.map((x) => (typeof x === 'number' && x >= 0 ? x : '?')).join(',')}]`;

/** Throws MODEL_SHAPE_MISMATCH listing every tensor whose name or shape differs from the manifest. */
export function checkModelShapes(m: ModelDetectorManifest, session: ort.InferenceSession, path: string): void {
  const problems: string[] = [];
  const check = (name: string, expected: readonly (number | null)[], which: 'input' | 'output') => {
    const actual = metadataShape(session, name, which);
    const names = which === 'input' ? session.inputNames : session.outputNames;
    if (!actual) problems.push(`${which} '${name}' is missing (the file has ${names.join(', ')})`);
    else if (!sameDims(expected, actual)) problems.push(`${which} '${name}' expected ${formatDims(expected)}, actual ${formatDims(actual)}`);
  };
  check(m.input.tensor, m.input.shape, 'input');
  if (m.input.scaleFactor) check(m.input.scaleFactor.tensor, m.input.scaleFactor.shape, 'input');
  for (const o of m.outputs) check(o.name, o.shape, 'output');
  const declared = new Set([m.input.tensor, m.input.scaleFactor?.tensor]);
  const undeclared = session.inputNames.filter((n) => !declared.has(n));
  if (undeclared.length) problems.push(`inputs ${undeclared.join(', ')} are not in the manifest (a run would lack them)`);
  if (problems.length) {
    throw new StreetwatchError('MODEL_SHAPE_MISMATCH', `detector '${m.id}': ${path} does not match ${m.manifestPath}: ${problems.join('; ')}`, {
      details: { detector: m.id, file: path, problems },
    });
  }
}

/** An output tensor as the decoders need it. */
export interface RawOutput {
  data: Float32Array | Int32Array | BigInt64Array;
  dims: readonly number[];
}

/**
 * One place a run can happen, with its own input buffers. The caller writes up to maxBatch images into
 * `input` (and their scale factors into `scale`), calls `run(n)`, and reads the outputs before its next
 * `run`: a worker lane's outputs are views of buffers the next run overwrites.
 */
export interface RunLane {
  readonly input: Float32Array;
  readonly scale: Float32Array;
  run(batch: number): Promise<Record<string, RawOutput>>;
  release(): Promise<void>;
}

interface LaneSpec {
  inputName: string;
  scaleName: string | undefined;
  /** Elements of one image (3·H·W) and its C, H, W. */
  image: readonly [number, number, number];
  maxBatch: number;
}

function laneSpec(m: ModelDetectorManifest): LaneSpec {
  return { inputName: m.input.tensor, scaleName: m.input.scaleFactor?.tensor, image: [3, m.input.height, m.input.width], maxBatch: m.maxBatch };
}

const imageSize = (s: LaneSpec) => s.image[0] * s.image[1] * s.image[2];

/** Runs on the caller's session in this thread. */
export class InProcessLane implements RunLane {
  readonly input: Float32Array;
  readonly scale: Float32Array;
  private readonly spec: LaneSpec;
  /** Tensors per batch size, made once: they wrap views of the lane's buffers. */
  private readonly feeds = new Map<number, Record<string, ort.Tensor>>();

  constructor(
    m: ModelDetectorManifest,
    private readonly session: ort.InferenceSession,
  ) {
    this.spec = laneSpec(m);
    this.input = new Float32Array(imageSize(this.spec) * m.maxBatch);
    this.scale = new Float32Array(2 * m.maxBatch);
  }

  async run(batch: number): Promise<Record<string, RawOutput>> {
    let feeds = this.feeds.get(batch);
    if (!feeds) {
      const s = this.spec;
      feeds = { [s.inputName]: new ort.Tensor('float32', this.input.subarray(0, batch * imageSize(s)), [batch, ...s.image]) };
      if (s.scaleName) feeds[s.scaleName] = new ort.Tensor('float32', this.scale.subarray(0, 2 * batch), [batch, 2]);
      this.feeds.set(batch, feeds);
    }
    const out = await this.session.run(feeds);
    const result: Record<string, RawOutput> = {};
    for (const [name, t] of Object.entries(out)) result[name] = { data: t.data as RawOutput['data'], dims: t.dims };
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * CommonJS source of a worker thread that owns one session. Input and outputs travel through shared memory
 * (SharedArrayBuffers made once): the lane writes the images into its shared input, the worker copies them
 * into its own tensor (onnxruntime refuses a typed array over shared memory) and copies each output into a
 * shared output buffer, grown when an output is larger than before. A run's messages carry only numbers, so
 * the main thread allocates nothing per run: transferring the buffers instead gave the main isolate ≈ 2 MB of
 * new ArrayBuffers per YOLOX call, and with them a major GC several times a second (issue 12 notes).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const s = workerData.spec;
const sharedInput = new Float32Array(workerData.input);
const sharedScale = new Float32Array(workerData.scale);
const ownInput = new Float32Array(sharedInput.length);
const ownScale = new Float32Array(sharedScale.length);
const outputs = {};
const ARRAYS = { float32: Float32Array, int32: Int32Array, int64: BigInt64Array };
let session;
const ready = ort.InferenceSession.create(workerData.model || workerData.path, workerData.options).then(
  (x) => { session = x; parentPort.postMessage({ type: 'ready' }); },
  (e) => { parentPort.postMessage({ type: 'ready', error: String(e && e.message || e) }); },
);
parentPort.on('message', async (msg) => {
  if (msg.type === 'close') {
    await ready;
    if (session) await session.release();
    parentPort.postMessage({ type: 'closed' });
    return;
  }
  try {
    const n = msg.batch * s.size;
    ownInput.set(sharedInput.subarray(0, n));
    const feeds = { [s.inputName]: new ort.Tensor('float32', ownInput.subarray(0, n), [msg.batch, ...s.image]) };
    if (s.scaleName) {
      ownScale.set(sharedScale.subarray(0, 2 * msg.batch));
      feeds[s.scaleName] = new ort.Tensor('float32', ownScale.subarray(0, 2 * msg.batch), [msg.batch, 2]);
    }
    const out = await session.run(feeds);
    const reply = {};
    for (const name of Object.keys(out)) {
      const t = out[name];
      const A = ARRAYS[t.type];
      if (!A) throw new Error('output ' + name + ' has type ' + t.type + ', which the ONNX detectors do not read');
      let o = outputs[name];
      const grown = !o || o.type !== t.type || o.view.length < t.data.length;
      if (grown) o = outputs[name] = { type: t.type, view: new A(new SharedArrayBuffer(t.data.length * A.BYTES_PER_ELEMENT)) };
      o.view.set(t.data);
      reply[name] = { type: t.type, dims: t.dims, length: t.data.length, ...(grown ? { buffer: o.view.buffer } : {}) };
    }
    parentPort.postMessage({ type: 'result', id: msg.id, outputs: reply });
  } catch (e) {
    parentPort.postMessage({ type: 'result', id: msg.id, error: String(e && e.message || e) });
  }
});
`;

const ORT_PATH = createRequire(import.meta.url).resolve('onnxruntime-node');

interface WorkerReply {
  type: 'ready' | 'result' | 'closed';
  id?: number;
  error?: string;
  /** Per output: its shape and length; `buffer` only when the worker made (or grew) its shared buffer. */
  outputs?: Record<string, { type: string; dims: number[]; length: number; buffer?: SharedArrayBuffer }>;
}

/** Runs on a session of its own in a worker thread, so lanes run in parallel and the event loop stays free. */
export class WorkerLane implements RunLane {
  readonly input: Float32Array;
  readonly scale: Float32Array;
  private readonly worker: Worker;
  private pending: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void } | undefined;
  private exited: Error | undefined;
  private nextId = 0;
  /** The worker's shared output buffers, by output name. */
  private readonly outputs = new Map<string, SharedArrayBuffer>();

  private constructor(spec: LaneSpec, path: string, threads: number, model: Uint8Array | undefined) {
    const input = new SharedArrayBuffer(imageSize(spec) * spec.maxBatch * 4);
    const scale = new SharedArrayBuffer(2 * spec.maxBatch * 4);
    this.input = new Float32Array(input);
    this.scale = new Float32Array(scale);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ortPath: ORT_PATH, path, model, input, scale, options: sessionOptions(threads), spec: { ...spec, size: imageSize(spec) } },
    });
    this.worker.on('message', (r: WorkerReply) => {
      const p = this.pending;
      this.pending = undefined;
      p?.resolve(r);
    });
    const fail = (e: Error) => {
      this.exited ??= e;
      const p = this.pending;
      this.pending = undefined;
      p?.reject(e);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`ONNX worker thread exited (code ${code})`)));
    // An idle lane must not keep the process alive; a lane with a run in flight must.
    this.worker.unref();
  }

  /**
   * Starts a worker and waits until its session has loaded the (already verified) file, or `model`, its bytes
   * as openModelSession rewrote them for a fitted manifest.
   */
  static async start(m: ModelDetectorManifest, path: string, threads: number, model?: Uint8Array): Promise<WorkerLane> {
    const lane = new WorkerLane(laneSpec(m), path, threads, model);
    const r = await lane.request(undefined);
    if (r.error) {
      await lane.worker.terminate();
      throw new StreetwatchError('MODEL_LOAD_FAILED', `detector '${m.id}': a worker thread cannot load ${path}: ${r.error}`, { details: { detector: m.id, file: path } });
    }
    return lane;
  }

  private request(msg: { type: 'run' | 'close'; [k: string]: unknown } | undefined): Promise<WorkerReply> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.ref();
      if (msg) this.worker.postMessage(msg);
    }).finally(() => this.worker.unref());
  }

  async run(batch: number): Promise<Record<string, RawOutput>> {
    if (this.pending) throw new Error('WorkerLane.run while a run is in flight (a lane serves one run at a time)');
    const id = this.nextId++;
    const r = await this.request({ type: 'run', id, batch });
    if (r.error || !r.outputs) throw new Error(`onnxruntime run failed in a worker thread: ${r.error ?? 'no outputs'}`);
    const result: Record<string, RawOutput> = {};
    for (const [name, o] of Object.entries(r.outputs)) {
      if (o.buffer) this.outputs.set(name, o.buffer);
      const buffer = this.outputs.get(name);
      if (!buffer) throw new Error(`output '${name}' came without its shared buffer`);
      const data = o.type === 'float32' ? new Float32Array(buffer, 0, o.length) : o.type === 'int32' ? new Int32Array(buffer, 0, o.length) : o.type === 'int64' ? new BigInt64Array(buffer, 0, o.length) : undefined;
      if (!data) throw new Error(`output '${name}' has type ${o.type}, which the ONNX detectors do not read`);
      result[name] = { data, dims: o.dims };
    }
    return result;
  }

  async release(): Promise<void> {
    if (!this.exited) {
      try {
        await this.request({ type: 'close' });
      } catch {
        // the worker is gone already: nothing left to release
      }
    }
    await this.worker.terminate();
  }
}
