import { isDeepStrictEqual } from 'node:util';
import { resolve } from 'node:path';
import { resolveCamera, type Config, type ResolvedCamera } from '../config/schema.js';
import type { Service } from '../core/lifecycle.js';
import type { Logger } from '../core/log.js';
import { forgetCamera, type Metrics } from '../core/metrics.js';
import type { Frame } from '../core/types.js';
import { CameraRunner, type CameraDeps, type CameraStatus } from './camera.js';
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
  /** For tests: how long each ffmpeg stop step may take, and a fixed random for backoff. */
  cameraDeps?: Partial<Pick<CameraDeps, 'stopStepMs' | 'random' | 'ffmpegPath'>>;
}

export interface ApplyResult {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
  /** Settings outside `cameras` that changed but only take effect after a restart. */
  needsRestart: string[];
}

/**
 * The embedded pipeline of one process: cameras → scheduler → stage. Cameras are added, removed and changed
 * while it runs (`apply`), leaving untouched cameras running.
 */
export class Runtime implements Service {
  private readonly runners = new Map<string, CameraRunner>();
  readonly scheduler: FrameScheduler;
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
  }

  async start(): Promise<void> {
    this.consumer = this.consume();
    await this.apply(this.config, this.baseDir, true);
  }

  /** Cameras' current status, in config order. */
  status(): CameraStatus[] {
    return [...this.runners.values()].map((r) => r.status());
  }

  runner(id: string): CameraRunner | undefined {
    return this.runners.get(id);
  }

  /** Brings the running cameras in line with `next`. Disabled cameras count as removed. */
  async apply(next: Config, baseDir: string = this.baseDir, initial = false): Promise<ApplyResult> {
    const want = new Map<string, ResolvedCamera>();
    for (const c of next.cameras) if (c.enabled) want.set(c.id, resolveCamera(next, c));
    const res: ApplyResult = { added: [], removed: [], changed: [], unchanged: [], needsRestart: [] };
    // Detectors first: an unknown detector, bad options or a bad model file rejects the whole config before
    // any camera changes.
    await this.opts.detection?.apply(next);
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
      } else if (!sameBase || !isDeepStrictEqual(cam, runner.camera)) {
        res.changed.push(id);
      } else {
        res.unchanged.push(id);
        continue;
      }
      this.runners.delete(id);
      stops.push(
        runner.stop().then(() => {
          this.scheduler.forgetCamera(id);
          this.opts.detection?.forgetCamera(id);
          this.opts.rules?.forgetCamera(id);
          if (!want.has(id)) forgetCamera(this.opts.metrics, id);
        }),
      );
    }
    await Promise.all(stops);
    this.config = next;
    this.baseDir = baseDir;
    const starts: Promise<void>[] = [];
    for (const [id, cam] of want) {
      if (this.runners.has(id)) continue;
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
