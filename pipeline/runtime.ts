import { isDeepStrictEqual } from 'node:util';
import { resolve } from 'node:path';
import { resolveCamera, type Config, type ResolvedCamera } from '../config/schema.js';
import type { Service } from '../core/lifecycle.js';
import type { Logger } from '../core/log.js';
import type { StreetwatchError } from '../core/errors.js';
import { forgetCamera, setCameraFailed, type Metrics } from '../core/metrics.js';
import type { Frame } from '../core/types.js';
import { CameraRunner, notStartedStatus, type CameraDeps, type CameraStatus } from './camera.js';
import { createDecodePool, type DecodePool } from './decode-pool.js';
import { primeFfmpegCapabilities } from './ffmpeg/capabilities.js';
import type { DetectionStage } from './detect-stage.js';
import type { RulesStage } from './rules-stage.js';
import { FrameScheduler } from './scheduler.js';

/** Extra work on each batch of frames after detection and rules (tools and tests hook in here). */
export type FrameStage = (batch: Frame[], signal: AbortSignal) => Promise<void>;

export interface RuntimeOptions {
  config: Config;
  /** Folder of the config file: relative paths in it resolve from here. */
  baseDir: string;
  metrics: Metrics;
  log: Logger;
  /** Runs the detectors on each batch; applied before cameras on every config change. */
  detection?: DetectionStage;
  /** Tracks and rules after detection; its zones follow every config change. */
  rules?: RulesStage;
  /** Extra work on each batch after detection (tests, tools). */
  stage?: FrameStage;
  createPositionSource?: CameraDeps['createPositionSource'];
  /** From when a camera's ring must keep video for evidence already owed (the dispatcher's durable rows). */
  owedEvidenceFromMs?: (cameraId: string) => number | undefined;
  /** For tests: how long each ffmpeg stop step may take, and a fixed random for backoff. */
  cameraDeps?: Partial<Pick<CameraDeps, 'stopStepMs' | 'random' | 'ffmpegPath'>>;
}

export interface ApplyResult {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
  /** Cameras not started because their detectors did not load; each is retried by the next apply. */
  failed: string[];
  /** Running cameras whose change was not applied because their new detectors did not load: they run as before. */
  refused: string[];
  /** Settings outside `cameras` that changed but only take effect after a restart. */
  needsRestart: string[];
}

/**
 * The embedded pipeline of one process: cameras → scheduler → stage. Cameras are added, removed and changed
 * while it runs (`apply`), leaving untouched cameras running. Start-up is the first `apply`, so a camera whose
 * detectors do not load is handled the same way at start and at a reload: it alone is not started (or, if it
 * runs, keeps running as it was), it is reported, and the next apply tries it again.
 */
export class Runtime implements Service {
  private readonly runners = new Map<string, CameraRunner>();
  /** Cameras not started because their detectors did not load, with the status they report. */
  private readonly notStarted = new Map<string, CameraStatus>();
  private readonly refusals = new Map<string, NonNullable<CameraStatus['refused']>>();
  readonly scheduler: FrameScheduler;
  /** The shared keyframe decoders (config `decoding`); undefined when every camera decodes in its own ffmpeg. */
  readonly decodePool: DecodePool | undefined;
  private config: Config;
  private baseDir: string;
  private readonly abort = new AbortController();
  private consumer: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: RuntimeOptions) {
    this.config = opts.config;
    this.baseDir = opts.baseDir;
    this.scheduler = new FrameScheduler({
      queueCapacity: opts.config.scheduler.queueCapacity,
      maxFrameAgeMs: opts.config.scheduler.maxFrameAgeSec * 1000,
      metrics: opts.metrics,
    });
    this.decodePool = createDecodePool(opts.config, opts.log, opts.cameraDeps);
  }

  /**
   * Starts the cameras of the config. Throws only for a config mistake (an unknown detector id, bad detector
   * options); a camera that cannot start is reported in `status()` instead.
   */
  async start(): Promise<void> {
    this.consumer = this.consume();
    // before any camera spawns: otherwise each of them runs fluent-ffmpeg's capability probes itself
    await primeFfmpegCapabilities(this.opts.cameraDeps?.ffmpegPath);
    await this.apply(this.config, this.baseDir, true);
  }

  /** Cameras' current status, in config order: the running ones and those not started (state 'failed'). */
  status(): CameraStatus[] {
    const out: CameraStatus[] = [];
    for (const c of this.config.cameras) {
      const runner = this.runners.get(c.id);
      const refused = this.refusals.get(c.id);
      if (runner) out.push(refused ? { ...runner.status(), refused: { ...refused } } : runner.status());
      else if (this.notStarted.has(c.id)) out.push(structuredClone(this.notStarted.get(c.id)!));
    }
    return out;
  }

  runner(id: string): CameraRunner | undefined {
    return this.runners.get(id);
  }

  /** Brings the running cameras in line with `next`. Disabled cameras count as removed. */
  async apply(next: Config, baseDir: string = this.baseDir, initial = false): Promise<ApplyResult> {
    const want = new Map<string, ResolvedCamera>();
    for (const c of next.cameras) if (c.enabled) want.set(c.id, resolveCamera(next, c));
    const res: ApplyResult = { added: [], removed: [], changed: [], unchanged: [], failed: [], refused: [], needsRestart: [] };
    // Detectors first. A mistake in the config's detector settings (unknown id, bad options) rejects the whole
    // config before any camera changes; a detector that does not load (a bad model file) only holds back the
    // cameras that use it, so one bad file never keeps every other camera dark.
    const notLoaded = (await this.opts.detection?.applyPerCamera(next)) ?? new Map<string, StreetwatchError>();
    this.opts.rules?.apply(next);
    if (!initial) {
      for (const key of ['scheduler', 'http', 'storage', 'log', 'site', 'detection'] as const) {
        if (!isDeepStrictEqual(this.config[key], next[key])) res.needsRestart.push(key);
      }
    }
    const sameBase = resolve(baseDir) === resolve(this.baseDir);
    const stops: Promise<void>[] = [];
    for (const [id, runner] of this.runners) {
      const cam = want.get(id);
      if (!cam) {
        res.removed.push(id);
      } else if (sameBase && isDeepStrictEqual(cam, runner.camera)) {
        res.unchanged.push(id);
        this.refusals.delete(id);
        continue;
      } else if (notLoaded.has(id)) {
        // Stopping it would trade a running camera for a dark one; its change waits for the next reload.
        const err = notLoaded.get(id)!;
        res.refused.push(id);
        this.refusals.set(id, { code: err.code, message: err.message, at: Date.now() });
        this.opts.log.error(
          { camera: id, code: err.code, ...err.details },
          `camera '${id}': its changed config is not applied because its detectors did not load, and it keeps running on its previous config — ${err.message} Reload the config (SIGHUP, or save the file) once that is fixed.`,
        );
        continue;
      } else {
        res.changed.push(id);
      }
      this.runners.delete(id);
      this.refusals.delete(id);
      stops.push(
        runner.stop().then(() => {
          this.scheduler.forgetCamera(id);
          this.opts.detection?.forgetCamera(id);
          this.opts.rules?.forgetCamera(id);
          if (!want.has(id)) forgetCamera(this.opts.metrics, id);
        }),
      );
    }
    for (const id of this.notStarted.keys()) {
      if (want.has(id)) continue;
      this.notStarted.delete(id);
      res.removed.push(id);
      forgetCamera(this.opts.metrics, id);
    }
    await Promise.all(stops);
    this.config = next;
    this.baseDir = baseDir;
    const starts: Promise<void>[] = [];
    for (const [id, cam] of want) {
      if (this.runners.has(id)) continue;
      const err = notLoaded.get(id);
      if (err) {
        this.notStarted.set(id, notStartedStatus(cam, baseDir, err, this.notStarted.get(id)));
        setCameraFailed(this.opts.metrics, id, err.code);
        this.opts.metrics.cameraUp.set({ camera: id }, 0);
        res.failed.push(id);
        this.opts.log.error(
          { camera: id, code: err.code, ...err.details },
          `camera '${id}' not started: its detectors did not load — ${err.message} It is tried again at the next config reload (SIGHUP, or save the config file); the other cameras are not held back.`,
        );
        continue;
      }
      if (this.notStarted.delete(id)) {
        setCameraFailed(this.opts.metrics, id, undefined);
        this.opts.log.info({ camera: id }, 'camera starting: its detectors loaded this time');
      }
      if (!res.changed.includes(id)) res.added.push(id);
      const runner = new CameraRunner(cam, this.cameraDeps());
      this.runners.set(id, runner);
      starts.push(runner.start());
    }
    await Promise.all(starts);
    return res;
  }

  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      this.abort.abort();
      await Promise.all([...this.runners.values()].map((r) => r.stop()));
      await this.decodePool?.stop();
      this.scheduler.close();
      await this.consumer;
      await this.opts.detection?.stop();
    })());
  }

  private cameraDeps(): CameraDeps {
    return {
      baseDir: this.baseDir,
      dataDir: resolve(this.baseDir, this.config.storage.dataDir),
      metrics: this.opts.metrics,
      log: this.opts.log,
      onFrame: (f) => this.scheduler.offer(f),
      createPositionSource: this.opts.createPositionSource,
      ...(this.decodePool ? { decodePool: this.decodePool } : {}),
      ...(this.opts.rules
        ? {
            evidenceNeeds: {
              firstSightingMs: (id: string) => earliest(this.opts.rules?.firstSightingMs(id), this.opts.owedEvidenceFromMs?.(id)),
              clipBeforeSec: this.config.evidence.clipBeforeSec,
              clipAfterSec: this.config.evidence.clipAfterSec,
            },
          }
        : {}),
      ...this.opts.cameraDeps,
    };
  }

  private async consume(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const batch = await this.scheduler.take(this.config.scheduler.maxBatch, signal);
      if (!batch.length) continue;
      try {
        const detected = (await this.opts.detection?.run(batch)) ?? [];
        if (this.opts.rules) for (const fd of detected) await this.opts.rules.process(fd);
        await this.opts.stage?.(batch, signal);
      } catch (e) {
        this.opts.log.error({ err: e, frames: batch.length }, 'frame stage failed on a batch');
      }
    }
  }
}

/** The earlier of two optional times. */
function earliest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}
