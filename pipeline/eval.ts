import { readFile } from 'node:fs/promises';
import { Registry } from 'prom-client';
import { loadConfig } from '../config/loader.js';
import { resolveCamera, type SamplingConfig } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import { createMetrics } from '../core/metrics.js';
import type { Frame } from '../core/types.js';
import { createRegistry } from '../detectors/index.js';
import type { Hit } from '../rules/types.js';
import { CameraRunner } from './camera.js';
import { createDecodePool } from './decode-pool.js';
import { DetectionStage } from './detect-stage.js';
import { RulesStage, type HitListener } from './rules-stage.js';
import { createTelemetryPositionSource } from './sources/vehicle.js';
import type { Truth } from './scenario/build.js';

/**
 * `streetwatch eval`: runs a scenario's camera through the whole pipeline as fast as it goes — every decoded
 * frame is detected, none dropped (unlike live running, where the scheduler keeps only the latest frame) —
 * and scores the hits against the truth.
 *
 * A hit matches a truth item when type and zone agree and it fires between `appear + dwell` and
 * `leave + GRACE_SEC`. The grace covers the rules' own latency: the static-object detector needs its
 * `minStaticSec` plus a few seconds before an object counts as still, and a detector may miss an object for a
 * frame or two. Each truth item matches one hit; further hits on it are duplicates and count as false
 * positives (an object must not re-alert). Shadow hits are scored the same way, apart.
 */
export const GRACE_SEC = 20;

export interface Score {
  precision: number;
  recall: number;
  tp: number;
  fp: number;
  fn: number;
  meanDetectDelaySec: number | null;
}

export interface EvalResult extends Score {
  perType: Record<string, Score>;
  shadow: Score & { perType: Record<string, Score> };
  hits: { type: string; zone: string; atSec: number; shadow: boolean; matched: boolean }[];
  frames: number;
}

export async function evaluateScenario(configFile: string, truthFile: string, log: Logger, opts: RunToEndOptions = {}): Promise<EvalResult> {
  const truth = JSON.parse(await readFile(truthFile, 'utf8')) as Truth;
  const hits: Hit[] = [];
  const { frames } = await runCameraToEnd(configFile, truth.camera, log, (h) => void hits.push(h), opts);
  const t0 = Date.parse(truth.start);
  const active = score(hits.filter((h) => !h.shadow), truth, t0);
  const shadow = score(hits.filter((h) => h.shadow), truth, t0);
  return { ...active.total, perType: active.perType, shadow: { ...shadow.total, perType: shadow.perType }, hits: [...active.rows, ...shadow.rows], frames };
}

/**
 * Runs one camera of a config through decode, detection, tracking and rules as fast as it goes — every
 * decoded frame detected, none dropped — until its source ends, handing each hit to `onHit` (awaited, in
 * order). What `eval` scores, and what the dispatch tests feed their incidents from.
 */
export interface RunToEndOptions {
  /** Instead of the camera's own sampling: how the scenes score at another one (`npm run eval -- --sampling keyframes:2`). */
  sampling?: SamplingConfig;
}

export async function runCameraToEnd(configFile: string, cameraId: string, log: Logger, onHit: HitListener, opts: RunToEndOptions = {}): Promise<{ frames: number }> {
  const { config, baseDir } = await loadConfig(configFile);
  const metrics = createMetrics(new Registry());
  const detection = new DetectionStage({ registry: createRegistry(), metrics, log });
  const rules = new RulesStage({ metrics, log, onHit });
  await detection.apply(config);
  rules.apply(config);
  const camCfg = config.cameras.find((c) => c.id === cameraId);
  if (!camCfg) throw new Error(`no camera '${cameraId}' in ${configFile}`);
  const queue: Frame[] = [];
  let wake: (() => void) | undefined;
  const decodePool = createDecodePool(config, log);
  const runner = new CameraRunner({ ...resolveCamera(config, camCfg), ...(opts.sampling ? { sampling: opts.sampling } : {}) }, {
    ...(decodePool ? { decodePool } : {}),
    baseDir,
    dataDir: baseDir,
    metrics,
    log,
    createPositionSource: createTelemetryPositionSource(log),
    onFrame: (f) => {
      queue.push(f);
      wake?.();
    },
  });
  await runner.start();
  let frames = 0;
  try {
    for (;;) {
      const f = queue.shift();
      if (f) {
        frames++;
        for (const fd of await detection.run([f])) await rules.process(fd);
        continue;
      }
      const st = runner.status().state;
      if (st === 'ended' || st === 'failed' || st === 'stopped') {
        if (st === 'failed') throw new Error(`camera failed: ${runner.status().lastError?.message}`);
        break;
      }
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 100);
      });
    }
  } finally {
    await runner.stop();
    await decodePool?.stop();
    await detection.stop();
  }
  return { frames };
}

function score(hits: Hit[], truth: Truth, t0: number) {
  const matchedBy = new Map<number, number>();
  const rows: EvalResult['hits'] = [];
  const perTypeCounts = new Map<string, { tp: number; fp: number; fn: number; delays: number[] }>();
  const bucket = (t: string) => perTypeCounts.get(t) ?? (perTypeCounts.set(t, { tp: 0, fp: 0, fn: 0, delays: [] }), perTypeCounts.get(t)!);
  for (const t of truth.items) bucket(t.type);
  for (const h of [...hits].sort((a, b) => a.atMs - b.atMs)) {
    const at = (h.atMs - t0) / 1000;
    const i = truth.items.findIndex((t, k) => !matchedBy.has(k) && t.type === h.type && t.zone === h.zoneId && at >= t.appear + t.dwell && at <= t.leave + GRACE_SEC);
    const b = bucket(h.type);
    if (i >= 0) {
      matchedBy.set(i, at);
      b.tp++;
      b.delays.push(at - truth.items[i]!.appear);
    } else b.fp++;
    rows.push({ type: h.type, zone: h.zoneId, atSec: Math.round(at * 10) / 10, shadow: h.shadow, matched: i >= 0 });
  }
  truth.items.forEach((t, k) => {
    if (!matchedBy.has(k)) bucket(t.type).fn++;
  });
  const mk = (c: { tp: number; fp: number; fn: number; delays: number[] }): Score => ({
    precision: c.tp + c.fp === 0 ? 1 : round(c.tp / (c.tp + c.fp)),
    recall: c.tp + c.fn === 0 ? 1 : round(c.tp / (c.tp + c.fn)),
    tp: c.tp,
    fp: c.fp,
    fn: c.fn,
    meanDetectDelaySec: c.delays.length ? round(c.delays.reduce((a, b) => a + b, 0) / c.delays.length) : null,
  });
  const all = { tp: 0, fp: 0, fn: 0, delays: [] as number[] };
  const perType: Record<string, Score> = {};
  for (const [t, c] of perTypeCounts) {
    perType[t] = mk(c);
    all.tp += c.tp;
    all.fp += c.fp;
    all.fn += c.fn;
    all.delays.push(...c.delays);
  }
  return { total: mk(all), perType, rows };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
