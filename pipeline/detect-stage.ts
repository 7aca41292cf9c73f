import { isDeepStrictEqual } from 'node:util';
import type { Config, ResolvedCamera } from '../config/schema.js';
import { resolveCamera } from '../config/schema.js';
import { resolveAsset } from '../core/assets.js';
import { toStreetwatchError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { Frame } from '../core/types.js';
import type { Detection } from '../detectors/contract.js';
import { DetectorHost } from '../detectors/host.js';
import { parseDetectorOptions, type DetectorRegistry } from '../detectors/registry.js';

/** What one detector saw in one frame. Shadow results are recorded and evaluated, never dispatched. */
export interface DetectorResult {
  detector: string;
  version: string;
  mode: 'active' | 'shadow';
  detections: Detection[];
}

/** A frame with every enabled detector's result: the input of the rules (issue 4). */
export interface FrameDetections {
  frame: Frame;
  results: DetectorResult[];
  /** Detectors that could not run on this frame (failed, timed out), with the reason. */
  failed: { detector: string; code: string }[];
}

export type DetectionListener = (fd: FrameDetections) => void | Promise<void>;

interface Use {
  hostKey: string;
  mode: 'active' | 'shadow';
}

/**
 * The detection stage: for each batch the scheduler hands over, runs every camera's enabled detectors.
 * Hosts are shared — one per (detector, options) across all cameras — so 100 cameras on YOLOX-Nano use one
 * ONNX session and their frames batch together. Config changes add, keep or stop hosts; a camera whose
 * detectors changed starts afresh in their per-camera state.
 */
export class DetectionStage {
  private readonly hosts = new Map<string, DetectorHost>();
  private uses = new Map<string, Use[]>();
  private readonly log: Logger;

  constructor(
    private readonly opts: {
      registry: DetectorRegistry;
      metrics: Metrics;
      log: Logger;
      onResult?: DetectionListener;
    },
  ) {
    this.log = opts.log.child({ stage: 'detect' });
  }

  /**
   * Brings hosts in line with the config. Detector problems (unknown id, bad options, missing model file)
   * are thrown as coded errors naming the camera, before anything changes: a bad config never replaces a
   * running one.
   */
  async apply(config: Config): Promise<void> {
    const cams: ResolvedCamera[] = config.cameras.filter((c) => c.enabled).map((c) => resolveCamera(config, c));
    const wanted = new Map<string, { id: string; options: unknown }>();
    const uses = new Map<string, Use[]>();
    for (const cam of cams) {
      const list: Use[] = [];
      for (const d of cam.detectors) {
        const def = await this.opts.registry.get(d.id).catch((e) => {
          throw toStreetwatchError(e);
        });
        const options = parseDetectorOptions(def, d.options ?? {}, `camera '${cam.id}'`);
        const hostKey = `${d.id}\u0000${JSON.stringify(options)}`;
        wanted.set(hostKey, { id: d.id, options });
        list.push({ hostKey, mode: d.mode });
      }
      uses.set(cam.id, list);
    }
    const started: DetectorHost[] = [];
    try {
      for (const [key, w] of wanted) {
        if (this.hosts.has(key)) continue;
        const def = await this.opts.registry.get(w.id);
        const host = new DetectorHost({
          def,
          options: w.options,
          ctx: { log: this.opts.log, resolveAsset: (n) => resolveAsset(n), threads: config.detection.threads },
          metrics: this.opts.metrics,
          deadlineMs: config.detection.deadlineSec * 1000,
          concurrency: config.detection.concurrency,
          restartBudget: { max: config.detection.restartBudget.max, windowMs: config.detection.restartBudget.windowSec * 1000 },
        });
        await host.start();
        started.push(host);
        this.hosts.set(key, host);
      }
    } catch (e) {
      // Nothing half-applied: hosts made for this config go again, the running mapping stays.
      for (const h of started) {
        for (const [k, v] of this.hosts) if (v === h) this.hosts.delete(k);
        await h.stop();
      }
      throw e;
    }
    for (const [camId, old] of this.uses) {
      const next = uses.get(camId);
      if (next && isDeepStrictEqual(next, old)) continue;
      for (const u of old) this.hosts.get(u.hostKey)?.forgetCamera(camId);
    }
    this.uses = uses;
    const inUse = new Set([...uses.values()].flat().map((u) => u.hostKey));
    for (const [key, host] of this.hosts) {
      if (inUse.has(key)) continue;
      this.hosts.delete(key);
      await host.stop();
    }
  }

  /** Hosts' status, for the console and `/api/detectors`. */
  status() {
    return [...this.hosts.values()].map((h) => h.status);
  }

  /** Tells detectors a camera was removed or restarted. */
  forgetCamera(cameraId: string): void {
    for (const u of this.uses.get(cameraId) ?? []) this.hosts.get(u.hostKey)?.forgetCamera(cameraId);
  }

  /** Runs a batch of frames (any cameras) through their detectors; results go to the listener per frame. */
  async run(batch: Frame[]): Promise<FrameDetections[]> {
    const perHost = new Map<string, Frame[]>();
    for (const f of batch) {
      for (const u of this.uses.get(f.cameraId) ?? []) {
        const list = perHost.get(u.hostKey) ?? [];
        list.push(f);
        perHost.set(u.hostKey, list);
      }
    }
    const byFrame = new Map<Frame, FrameDetections>(batch.map((f) => [f, { frame: f, results: [], failed: [] }]));
    await Promise.all(
      [...perHost].map(async ([key, frames]) => {
        const host = this.hosts.get(key)!;
        try {
          const lists = await host.detect(frames);
          frames.forEach((f, i) => {
            const mode = this.uses.get(f.cameraId)?.find((u) => u.hostKey === key)?.mode ?? 'active';
            const detections = lists[i]!;
            byFrame.get(f)!.results.push({ detector: host.id, version: host.manifest.version, mode, detections });
            this.opts.metrics.framesDetected.inc({ camera: f.cameraId, detector: host.id, result: 'ok' });
            for (const d of detections) this.opts.metrics.detections.inc({ camera: f.cameraId, detector: host.id, mode, semantic: d.semantic ?? 'unknown' });
          });
        } catch (e) {
          const err = toStreetwatchError(e);
          for (const f of frames) {
            byFrame.get(f)!.failed.push({ detector: host.id, code: err.code });
            this.opts.metrics.framesDetected.inc({ camera: f.cameraId, detector: host.id, result: 'failed' });
          }
          this.log.warn({ detector: host.id, code: err.code, frames: frames.length }, `detector failed on a batch: ${err.message}`);
        }
      }),
    );
    const out = [...byFrame.values()];
    if (this.opts.onResult) for (const fd of out) await this.opts.onResult(fd);
    return out;
  }

  async stop(): Promise<void> {
    const hosts = [...this.hosts.values()];
    this.hosts.clear();
    await Promise.all(hosts.map((h) => h.stop()));
  }
}
