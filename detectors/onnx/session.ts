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
 * `run`. `input`/`scale` may be new arrays after a run (worker lanes lend them out by transfer): read the
 * properties, do not keep them.
 */
export interface RunLane {
  input: Float32Array;
  scale: Float32Array;
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
  input: Float32Array;
  scale: Float32Array;
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
 * CommonJS source of a worker thread that owns one session. Buffers travel by transfer both ways, so a run
 * copies nothing: the lane lends its input, the worker returns it with the outputs' own buffers.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
const ready = ort.InferenceSession.create(workerData.model || workerData.path, workerData.options).then(
  (s) => { session = s; parentPort.postMessage({ type: 'ready' }); },
  (e) => { parentPort.postMessage({ type: 'ready', error: String(e && e.message || e) }); },
);
parentPort.on('message', async (msg) => {
  if (msg.type === 'close') {
    await ready;
    if (session) await session.release();
    parentPort.postMessage({ type: 'closed' });
    return;
  }
  const lent = [msg.input, msg.scale];
  try {
    const s = workerData.spec;
    const feeds = { [s.inputName]: new ort.Tensor('float32', new Float32Array(msg.input, 0, msg.batch * s.size), [msg.batch, ...s.image]) };
    if (s.scaleName) feeds[s.scaleName] = new ort.Tensor('float32', new Float32Array(msg.scale, 0, 2 * msg.batch), [msg.batch, 2]);
    const out = await session.run(feeds);
    const outputs = {};
    const transfer = new Set(lent);
    for (const name of Object.keys(out)) {
      const t = out[name];
      outputs[name] = { type: t.type, dims: t.dims, buffer: t.data.buffer, offset: t.data.byteOffset, length: t.data.length };
      transfer.add(t.data.buffer);
    }
    parentPort.postMessage({ type: 'result', id: msg.id, input: msg.input, scale: msg.scale, outputs }, [...transfer]);
  } catch (e) {
    parentPort.postMessage({ type: 'result', id: msg.id, input: msg.input, scale: msg.scale, error: String(e && e.message || e) }, lent);
  }
});
`;

const ORT_PATH = createRequire(import.meta.url).resolve('onnxruntime-node');

interface WorkerReply {
  type: 'ready' | 'result' | 'closed';
  id?: number;
  error?: string;
  input?: ArrayBuffer;
  scale?: ArrayBuffer;
  outputs?: Record<string, { type: string; dims: number[]; buffer: ArrayBuffer; offset: number; length: number }>;
}

/** Runs on a session of its own in a worker thread, so lanes run in parallel and the event loop stays free. */
export class WorkerLane implements RunLane {
  input: Float32Array;
  scale: Float32Array;
  private readonly worker: Worker;
  private pending: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void } | undefined;
  private exited: Error | undefined;
  private nextId = 0;

  private constructor(spec: LaneSpec, path: string, threads: number, model: Uint8Array | undefined) {
    this.input = new Float32Array(imageSize(spec) * spec.maxBatch);
    this.scale = new Float32Array(2 * spec.maxBatch);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ortPath: ORT_PATH, path, model, options: sessionOptions(threads), spec: { ...spec, size: imageSize(spec) } },
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

  private request(msg: { type: 'run' | 'close'; [k: string]: unknown } | undefined, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.ref();
      if (msg) this.worker.postMessage(msg, transfer);
    }).finally(() => this.worker.unref());
  }

  async run(batch: number): Promise<Record<string, RawOutput>> {
    if (this.pending) throw new Error('WorkerLane.run while a run is in flight (a lane serves one run at a time)');
    const id = this.nextId++;
    const input = this.input.buffer as ArrayBuffer;
    const scale = this.scale.buffer as ArrayBuffer;
    const r = await this.request({ type: 'run', id, batch, input, scale }, [input, scale]);
    if (r.input) this.input = new Float32Array(r.input);
    if (r.scale) this.scale = new Float32Array(r.scale);
    if (r.error || !r.outputs) throw new Error(`onnxruntime run failed in a worker thread: ${r.error ?? 'no outputs'}`);
    const result: Record<string, RawOutput> = {};
    for (const [name, o] of Object.entries(r.outputs)) {
      const data =
        o.type === 'float32' ? new Float32Array(o.buffer, o.offset, o.length) : o.type === 'int32' ? new Int32Array(o.buffer, o.offset, o.length) : o.type === 'int64' ? new BigInt64Array(o.buffer, o.offset, o.length) : undefined;
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
