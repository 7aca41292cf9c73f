import { StreetwatchError, isStreetwatchError, toStreetwatchError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { Frame } from '../core/types.js';
import { SEMANTIC_LABELS, type Detection, type DetectorContext, type DetectorDefinition, type DetectorInstance, type SemanticLabel } from './contract.js';

/**
 * Runs one detector (one definition with one set of options) for every camera that enables it: the same
 * instance — the same ONNX session — serves frames from many cameras. The host
 *  - cuts work into batches of at most `maxBatch` frames and runs at most `concurrency` of them at once,
 *  - gives each call a deadline; a call that overruns is abandoned,
 *  - restarts the instance (close, create anew) after a timeout or a crash, within a budget of restarts per
 *    window; past the budget the detector is marked failed and refuses work until the host is restarted,
 *  - checks every result against the contract (one list per frame, boxes in 0..1, known labels) and fills
 *    in semantic labels, dropping labels mapped to null.
 *
 * A detector runs in this process: an abandoned call still occupies a thread until it returns. Detectors
 * that may hang for good belong in a worker (a later step); the deadline and the restart keep the pipeline
 * moving meanwhile.
 */
export interface DetectorHostOptions {
  def: DetectorDefinition;
  options: unknown;
  ctx: DetectorContext;
  metrics?: Metrics;
  /** Deadline of one detect call, ms. */
  deadlineMs?: number;
  /** Batches run at once (for batch-1 models, a pool of concurrent runs). */
  concurrency?: number;
  restartBudget?: { max: number; windowMs: number };
  now?: () => number;
}

export type HostState = 'idle' | 'ready' | 'restarting' | 'failed' | 'stopped';

export class DetectorHost {
  private instance: DetectorInstance | undefined;
  private creating: Promise<DetectorInstance> | undefined;
  private state: HostState = 'idle';
  private readonly restarts: number[] = [];
  private running = 0;
  private readonly queue: (() => void)[] = [];
  private lastError: StreetwatchError | undefined;
  private stopping: Promise<void> | undefined;
  readonly id: string;
  private readonly log: Logger;

  constructor(private readonly opts: DetectorHostOptions) {
    this.id = opts.def.manifest.id;
    this.log = opts.ctx.log.child({ detector: this.id });
  }

  get status(): { id: string; version: string; state: HostState; restarts: number; lastError?: string; thresholds: Record<string, number> } {
    // the numeric options (score thresholds, minimum static seconds…): what evidence records the hit was judged by
    const opts = (this.opts.options ?? {}) as Record<string, unknown>;
    const thresholds = Object.fromEntries(Object.entries(opts).filter((e): e is [string, number] => typeof e[1] === 'number'));
    return {
      id: this.id,
      version: this.opts.def.manifest.version,
      thresholds,
      state: this.state,
      restarts: this.restarts.length,
      ...(this.lastError ? { lastError: this.lastError.message } : {}),
    };
  }

  get manifest() {
    return this.opts.def.manifest;
  }

  /** Creates the instance and warms it up. Throws the detector's own coded error (bad model file, …). */
  async start(): Promise<void> {
    const inst = await this.ensureInstance();
    if (inst.warmup) await inst.warmup();
    this.state = 'ready';
  }

  /** Detections for each frame, in order. Throws DETECTOR_FAILED once the restart budget is spent. */
  async detect(frames: readonly Frame[]): Promise<Detection[][]> {
    if (this.state === 'failed') throw this.failedError();
    if (this.state === 'stopped') throw new StreetwatchError('STOPPED', `detector '${this.id}' is stopped`);
    const max = this.opts.def.manifest.maxBatch;
    const chunks: Frame[][] = [];
    for (let i = 0; i < frames.length; i += max) chunks.push(frames.slice(i, i + max));
    const results = await Promise.all(chunks.map((c) => this.withSlot(() => this.runChunk(c))));
    return results.flat();
  }

  /** Tells the instance a camera is gone (per-camera state). */
  forgetCamera(cameraId: string): void {
    this.instance?.forgetCamera?.(cameraId);
  }

  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      this.state = 'stopped';
      const inst = this.instance ?? (await this.creating?.catch(() => undefined));
      this.instance = undefined;
      await inst?.close().catch((e) => this.log.warn({ err: e }, 'close failed'));
    })());
  }

  private async withSlot<T>(fn: () => Promise<T>): Promise<T> {
    const limit = Math.max(1, this.opts.concurrency ?? 1);
    if (this.running >= limit) await new Promise<void>((r) => this.queue.push(r));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }

  private async ensureInstance(): Promise<DetectorInstance> {
    if (this.instance) return this.instance;
    this.creating ??= Promise.resolve(this.opts.def.create(this.opts.options as never, this.opts.ctx)).then(
      (inst) => {
        this.instance = inst;
        this.creating = undefined;
        return inst;
      },
      (e) => {
        this.creating = undefined;
        throw e;
      },
    );
    return this.creating;
  }

  private async runChunk(chunk: Frame[]): Promise<Detection[][]> {
    const inst = await this.ensureInstance();
    const deadlineMs = this.opts.deadlineMs ?? 10_000;
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const t0 = performance.now();
    try {
      const result = await Promise.race([
        inst.detect(chunk, ac.signal),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            ac.abort();
            reject(new StreetwatchError('DETECTOR_TIMEOUT', `detector '${this.id}' took longer than ${deadlineMs} ms on a batch of ${chunk.length}`, { retriable: true }));
          }, deadlineMs);
        }),
      ]);
      const checked = this.check(result, chunk);
      this.opts.metrics?.detectorRuns.inc({ detector: this.id, result: 'ok' });
      this.opts.metrics?.detectorSeconds.observe({ detector: this.id }, (performance.now() - t0) / 1000);
      return checked;
    } catch (e) {
      const err = isStreetwatchError(e, 'DETECTOR_TIMEOUT') || isStreetwatchError(e, 'DETECTOR_OUTPUT_INVALID')
        ? (e as StreetwatchError)
        : new StreetwatchError('DETECTOR_CRASHED', `detector '${this.id}' threw: ${(e as Error)?.message ?? String(e)}`, { cause: e, retriable: true });
      const reason = err.code === 'DETECTOR_TIMEOUT' ? 'timeout' : err.code === 'DETECTOR_OUTPUT_INVALID' ? 'invalid_output' : 'crash';
      this.opts.metrics?.detectorRuns.inc({ detector: this.id, result: reason });
      await this.restart(inst, err, reason);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async restart(broken: DetectorInstance, err: StreetwatchError, reason: string): Promise<void> {
    this.lastError = err;
    if (this.instance !== broken) return; // another chunk already restarted it
    this.instance = undefined;
    void broken.close().catch(() => undefined);
    const now = (this.opts.now ?? Date.now)();
    const budget = this.opts.restartBudget ?? { max: 5, windowMs: 10 * 60_000 };
    while (this.restarts.length && this.restarts[0]! < now - budget.windowMs) this.restarts.shift();
    if (this.restarts.length >= budget.max) {
      this.state = 'failed';
      this.log.error({ code: err.code, restarts: this.restarts.length }, `detector failed for good: restart budget spent (${budget.max} in ${budget.windowMs / 1000} s); last error: ${err.message}`);
      return;
    }
    this.restarts.push(now);
    this.state = 'restarting';
    this.opts.metrics?.detectorRestarts.inc({ detector: this.id, reason });
    this.log.warn({ code: err.code, reason }, `restarting detector: ${err.message}`);
    try {
      await this.ensureInstance();
      this.state = 'ready';
    } catch (e) {
      this.lastError = toStreetwatchError(e, 'DETECTOR_CRASHED');
      this.state = 'failed';
      this.log.error({ err: e }, 'detector could not be re-created');
    }
  }

  private failedError(): StreetwatchError {
    return new StreetwatchError('DETECTOR_FAILED', `detector '${this.id}' is out of service after repeated failures (last: ${this.lastError?.message ?? 'unknown'}); fix it and reload the config`, {
      cause: this.lastError,
    });
  }

  /** Enforces the contract on a result and fills in semantic labels. */
  private check(result: unknown, chunk: Frame[]): Detection[][] {
    const m = this.opts.def.manifest;
    const bad = (why: string) => new StreetwatchError('DETECTOR_OUTPUT_INVALID', `detector '${this.id}' broke the contract: ${why}`);
    if (!Array.isArray(result) || result.length !== chunk.length) {
      throw bad(`returned ${Array.isArray(result) ? result.length : typeof result} result lists for ${chunk.length} frames`);
    }
    const known = new Set(SEMANTIC_LABELS);
    return result.map((list: Detection[]) => {
      if (!Array.isArray(list)) throw bad('a frame result is not an array');
      const out: Detection[] = [];
      for (const d of list) {
        const [x1, y1, x2, y2] = d.box ?? [];
        if (!(x1! >= 0 && y1! >= 0 && x2! <= 1 && y2! <= 1 && x1! < x2! && y1! < y2!)) throw bad(`box ${JSON.stringify(d.box)} is not normalised [x1,y1,x2,y2] in 0..1`);
        if (!(d.score >= 0 && d.score <= 1)) throw bad(`score ${d.score} is not in 0..1`);
        if (!(d.label in m.labelMap)) throw bad(`label '${d.label}' is not in its manifest`);
        const semantic = d.semantic ?? m.labelMap[d.label];
        if (semantic === null || semantic === undefined) continue;
        if (!known.has(semantic as SemanticLabel)) throw bad(`semantic label '${semantic}' is unknown`);
        out.push({ box: d.box, score: d.score, label: d.label, semantic, ...(Number.isFinite(d.sinceMs) ? { sinceMs: d.sinceMs } : {}) });
      }
      return out;
    });
  }
}
