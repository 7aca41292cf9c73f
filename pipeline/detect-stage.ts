import { isDeepStrictEqual } from 'node:util';
import type { Config, ResolvedCamera } from '../config/schema.js';
import { resolveCamera } from '../config/schema.js';
import { resolveAsset } from '../core/assets.js';
import { toStreetwatchError, type StreetwatchError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { Frame } from '../core/types.js';
import type { Detection, DetectorDefinition } from '../detectors/contract.js';
import { DetectorHost } from '../detectors/host.js';
import { parseDetectorOptions, type DetectorRegistry } from '../detectors/registry.js';
import { shouldLabel, type LabelGateParams, type LabelGateState } from './label-gate.js';

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
  /** Detectors labelling on demand left out on this frame: nothing new for them (pipeline/label-gate.ts). */
  skipped: string[];
}

export type DetectionListener = (fd: FrameDetections) => void | Promise<void>;

interface Use {
  hostKey: string;
  mode: 'active' | 'shadow';
}

/** A config resolved against the running hosts: what `commit` installs, or `discard` undoes. */
interface Plan {
  uses: Map<string, Use[]>;
  /** Hosts started for this config (new ones, and fresh ones for hosts that had failed). */
  started: Map<string, DetectorHost>;
  /** Cameras whose detectors did not load, with the first error. */
  failed: Map<string, StreetwatchError>;
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
  /** Labelling on demand: the config's parameters, and per camera when its object detectors last ran. */
  private gate: LabelGateParams = { enabled: false, trigger: '', everySec: 6 };
  private readonly gateState = new Map<string, LabelGateState>();
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
   * Brings hosts in line with the config, all or nothing: any detector problem (unknown id, bad options, a
   * model file that does not load) is thrown as a coded error and nothing changes. For tools that run one
   * config to the end (eval); the runtime uses `applyPerCamera`.
   */
  async apply(config: Config): Promise<void> {
    const plan = await this.plan(config);
    const first = plan.failed.values().next();
    if (!first.done) {
      await this.discard(plan);
      throw first.value;
    }
    await this.commit(plan, config);
  }

  /**
   * Brings hosts in line with the config camera by camera. Mistakes in the config's text (an unknown detector
   * id, bad options) are thrown before anything changes, like any other invalid config. A detector that does
   * not load (a model file missing or not the pinned one, a plug-in that does not import or breaks the
   * contract) fails only the cameras that use it: they are returned with the error. Such a camera keeps the
   * detectors it had (a running camera keeps running as it was) or gets none; every later apply tries again.
   */
  async applyPerCamera(config: Config): Promise<Map<string, StreetwatchError>> {
    const plan = await this.plan(config);
    await this.commit(plan, config);
    return plan.failed;
  }

  /** Resolves every camera's detectors and starts the hosts that are new. Throws only for config mistakes. */
  private async plan(config: Config): Promise<Plan> {
    const cams: ResolvedCamera[] = config.cameras.filter((c) => c.enabled).map((c) => resolveCamera(config, c));
    const failed = new Map<string, StreetwatchError>();
    const uses = new Map<string, Use[]>();
    const wanted = new Map<string, { id: string; options: unknown; def: DetectorDefinition; frames: { width: number; height: number }[] }>();
    // Frame sizes of the cameras each detector (id + options) serves: part of its host's key, since a detector
    // may shape its input for them (DetectorContext.frames); a new size among its cameras starts a new host.
    const sizes = new Map<string, Map<string, { width: number; height: number }>>();
    for (const cam of cams) {
      const list: Use[] = [];
      for (const d of cam.detectors) {
        this.opts.registry.assertKnown(d.id, `camera '${cam.id}'`);
        let def: DetectorDefinition;
        try {
          def = await this.opts.registry.get(d.id);
        } catch (e) {
          if (!failed.has(cam.id)) failed.set(cam.id, toStreetwatchError(e, 'DETECTOR_INVALID'));
          continue;
        }
        const options = parseDetectorOptions(def, d.options ?? {}, `camera '${cam.id}'`);
        const baseKey = `${d.id}\u0000${JSON.stringify(options)}`;
        if (!sizes.has(baseKey)) sizes.set(baseKey, new Map());
        sizes.get(baseKey)!.set(`${cam.frame.width}x${cam.frame.height}`, { ...cam.frame });
        wanted.set(baseKey, { id: d.id, options, def, frames: [] });
        list.push({ hostKey: baseKey, mode: d.mode });
      }
      uses.set(cam.id, list);
    }
    const hostKeyOf = new Map<string, string>();
    for (const [baseKey, bySize] of sizes) {
      const keys = [...bySize.keys()].sort();
      const hostKey = `${baseKey}\u0000${keys.join(',')}`;
      hostKeyOf.set(baseKey, hostKey);
      wanted.set(hostKey, { ...wanted.get(baseKey)!, frames: keys.map((k) => bySize.get(k)!) });
      wanted.delete(baseKey);
    }
    for (const list of uses.values()) for (const u of list) u.hostKey = hostKeyOf.get(u.hostKey)!;
    // Each new host is tried once, however many cameras share it; a host that failed for good (restart
    // budget spent) is tried afresh, since a reload is how an operator says "fixed, try again".
    const started = new Map<string, DetectorHost>();
    const hostErrors = new Map<string, StreetwatchError>();
    const needed = new Set([...uses].filter(([id]) => !failed.has(id)).flatMap(([, list]) => list.map((u) => u.hostKey)));
    for (const key of needed) {
      const current = this.hosts.get(key);
      if (current && current.status.state !== 'failed') continue;
      const w = wanted.get(key)!;
      const host = new DetectorHost({
        def: w.def,
        options: w.options,
        ctx: { log: this.opts.log, resolveAsset: (n) => resolveAsset(n), threads: config.detection.threads, frames: w.frames },
        metrics: this.opts.metrics,
        deadlineMs: config.detection.deadlineSec * 1000,
        concurrency: config.detection.concurrency,
        restartBudget: { max: config.detection.restartBudget.max, windowMs: config.detection.restartBudget.windowSec * 1000 },
      });
      try {
        await host.start();
        started.set(key, host);
      } catch (e) {
        await host.stop();
        const err = toStreetwatchError(e, 'DETECTOR_CRASHED');
        if (current) {
          // its cameras keep the failed host (their frames report DETECTOR_FAILED, its status says why)
          this.log.error({ detector: w.id, code: err.code }, `detector still does not start after the reload: ${err.message}`);
        } else {
          hostErrors.set(key, err);
        }
      }
    }
    for (const [camId, list] of uses) {
      if (failed.has(camId)) continue;
      const broken = list.find((u) => hostErrors.has(u.hostKey));
      if (broken) failed.set(camId, hostErrors.get(broken.hostKey)!);
    }
    return { uses, started, failed };
  }

  private async discard(plan: Plan): Promise<void> {
    await Promise.all([...plan.started.values()].map((h) => h.stop()));
  }

  private async commit(plan: Plan, config: Config): Promise<void> {
    this.gate = config.detection.labelOnDemand;
    const uses = new Map<string, Use[]>();
    for (const [camId, list] of plan.uses) {
      if (!plan.failed.has(camId)) uses.set(camId, list);
      else if (this.uses.has(camId)) uses.set(camId, this.uses.get(camId)!);
    }
    const replaced: DetectorHost[] = [];
    for (const [key, host] of plan.started) {
      const old = this.hosts.get(key);
      if (old) replaced.push(old);
      this.hosts.set(key, host);
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
      replaced.push(host);
    }
    await Promise.all(replaced.map((h) => h.stop()));
  }

  /** Hosts' status, for the console and `/api/detectors`. */
  status() {
    return [...this.hosts.values()].map((h) => h.status);
  }

  /** Tells detectors a camera was removed or restarted. */
  forgetCamera(cameraId: string): void {
    this.gateState.delete(cameraId);
    for (const u of this.uses.get(cameraId) ?? []) this.hosts.get(u.hostKey)?.forgetCamera(cameraId);
  }

  /**
   * Runs a batch of frames (any cameras) through their detectors; results go to the listener per frame. With
   * labelling on demand, the trigger detector runs first and a camera's other detectors run only on the frames
   * the gate lets through (pipeline/label-gate.ts); the others list them in `skipped`.
   */
  async run(batch: Frame[]): Promise<FrameDetections[]> {
    const byFrame = new Map<Frame, FrameDetections>(batch.map((f) => [f, { frame: f, results: [], failed: [], skipped: [] }]));
    const gate = this.gate;
    const isTrigger = (u: Use) => this.hosts.get(u.hostKey)?.id === gate.trigger;
    // decided once per frame: cameras that run the trigger are gated
    const gatedFrames = new Set(gate.enabled ? batch.filter((f) => (this.uses.get(f.cameraId) ?? []).some(isTrigger)) : []);
    const gated = (f: Frame) => gatedFrames.has(f);
    // first the trigger, on the frames of gated cameras; then everything else that the gate lets through
    await this.runUses(batch, (f, u) => gated(f) && isTrigger(u), byFrame);
    const labelled = new Set<Frame>();
    for (const f of gatedFrames) {
      const found = byFrame.get(f)!.results.some((r) => r.detector === gate.trigger && r.detections.length > 0);
      const state = this.gateState.get(f.cameraId) ?? {};
      if (shouldLabel(state, f.wallMs, found, gate)) {
        labelled.add(f);
        this.gateState.set(f.cameraId, { lastLabelledMs: f.wallMs });
      }
    }
    await this.runUses(batch, (f, u) => !gated(f) || (!isTrigger(u) && labelled.has(f)), byFrame);
    for (const f of batch) {
      if (!gated(f) || labelled.has(f)) continue;
      for (const u of this.uses.get(f.cameraId) ?? []) {
        const host = this.hosts.get(u.hostKey);
        if (!host || isTrigger(u)) continue;
        byFrame.get(f)!.skipped.push(host.id);
        this.opts.metrics.framesDetected.inc({ camera: f.cameraId, detector: host.id, result: 'skipped' });
      }
    }
    const out = [...byFrame.values()];
    if (this.opts.onResult) for (const fd of out) await this.opts.onResult(fd);
    return out;
  }

  /** Runs the (frame, detector) pairs `pick` chooses, one call per host over all its frames, hosts in parallel. */
  private async runUses(batch: Frame[], pick: (f: Frame, u: Use) => boolean, byFrame: Map<Frame, FrameDetections>): Promise<void> {
    const perHost = new Map<string, Frame[]>();
    for (const f of batch) {
      for (const u of this.uses.get(f.cameraId) ?? []) {
        if (!pick(f, u)) continue;
        const list = perHost.get(u.hostKey) ?? [];
        list.push(f);
        perHost.set(u.hostKey, list);
      }
    }
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
  }

  async stop(): Promise<void> {
    const hosts = [...this.hosts.values()];
    this.hosts.clear();
    await Promise.all(hosts.map((h) => h.stop()));
  }
}
