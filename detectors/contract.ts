/**
 * # The detector plug-in contract (算法仓 API)
 *
 * This is the one file the algorithms team imports. A detector is a value made with {@link defineDetector}:
 * a {@link DetectorManifest} (what it is, what it outputs, what options it takes) and a `create` function
 * that returns a running {@link DetectorInstance}.
 *
 * ```ts
 * import { z } from 'zod';
 * import { defineDetector, DETECTOR_API } from '../contract.js';
 *
 * export default defineDetector({
 *   manifest: {
 *     id: 'crate-finder', version: '0.1.0', api: `^${DETECTOR_API}`,
 *     description: 'finds crates', licence: 'Apache-2.0',
 *     labels: ['crate'], labelMap: { crate: 'goods' },
 *     input: { width: 320, height: 320, pixelFormat: 'rgb24' },
 *     maxBatch: 1,
 *     options: z.strictObject({ threshold: z.number().min(0).max(1).default(0.4) }),
 *   },
 *   async create(options, ctx) {
 *     return {
 *       async detect(batch, signal) { return batch.map(() => []); },
 *       async close() {},
 *     };
 *   },
 * });
 * ```
 *
 * ## Rules every detector follows
 * - **Boxes** are normalised `[x1, y1, x2, y2]`, 0..1 of the frame it was given, x1 < x2, y1 < y2. Frames are
 *   scaled (not cropped) from the camera picture, so normalised boxes are boxes of the source frame too.
 * - **Labels:** every `label` a detector emits is one of `manifest.labels`, and `labelMap` maps each of them
 *   onto the small {@link SemanticLabel} vocabulary the rules speak (or `null`: emitted labels mapped to null
 *   are dropped by the host, e.g. COCO's `toothbrush`). The host checks this at load and on every result.
 * - **detect(batch, signal)** gets 1..`maxBatch` frames, possibly from different cameras, and resolves with
 *   one array of detections per frame, in the same order. It must not keep references to frame buffers after
 *   it resolves (the pipeline reuses nothing today, but may pool buffers later). It should stop early when
 *   `signal` aborts (the host's deadline); the host abandons a call that overruns its deadline, closes the
 *   instance and creates a new one (within a restart budget).
 * - A detector may keep **per-camera state** (a background model, a tracker) keyed by `frame.cameraId`;
 *   `forgetCamera(id)` is called when a camera is removed or restarted.
 * - **close()** releases everything (ONNX sessions, timers) and may be called any number of times.
 * - **Errors:** throw `StreetwatchError` (see core/errors.ts) with a stable code for bad input or bad files;
 *   anything else thrown from `detect` counts as a crash.
 *
 * ## Versioning
 * `manifest.api` is a semver range over {@link DETECTOR_API}; the host refuses a detector whose range does not
 * include the host's API version (error `DETECTOR_API_MISMATCH`). Additive changes bump the minor version;
 * anything that would break an existing detector bumps the major version.
 */
import type { z } from 'zod';
import type { Logger } from '../core/log.js';
import type { Frame } from '../core/types.js';

export type { Frame };

/** The version of this contract. Detectors declare the range they work with in `manifest.api`. */
export const DETECTOR_API = '1.0.0';

/**
 * The vocabulary the rules speak. Each model maps its own classes onto these, so a custom model with classes
 * like `stall` or `goods_pile` plugs straight into the rules.
 *
 * | label | meaning for the rules |
 * |---|---|
 * | person | a person (vendors, shop staff, passers-by) |
 * | vehicle | car, bus, truck, van — a parked vehicle is never stacking |
 * | two_wheeler | bicycle, motorcycle, e-bike, tricycle (often a vendor's cart base) |
 * | cart | a vending cart or tricycle cart |
 * | stall | a stall, booth or awning (custom models) |
 * | umbrella | a vendor's umbrella |
 * | table | a table, including folding tables with goods on them |
 * | chair | a chair or stool |
 * | bench | a fixed bench (street furniture: not a violation by itself) |
 * | goods | goods laid out or piled: boxes, crates, baskets, sacks, racks, bottles, bags |
 * | plant | potted plants (often put out by shops) |
 * | static_object | a class-agnostic new object that stayed still (the static-change detector) |
 * | animal | an animal (ignored by the rules; kept so it is not mistaken for goods) |
 */
export const SEMANTIC_LABELS = [
  'person',
  'vehicle',
  'two_wheeler',
  'cart',
  'stall',
  'umbrella',
  'table',
  'chair',
  'bench',
  'goods',
  'plant',
  'static_object',
  'animal',
] as const;
export type SemanticLabel = (typeof SEMANTIC_LABELS)[number];

/** Normalised `[x1, y1, x2, y2]` in 0..1 of the frame. */
export type Box = [number, number, number, number];

export interface Detection {
  box: Box;
  /** 0..1 confidence. */
  score: number;
  /** The model's own label (one of `manifest.labels`). */
  label: string;
  /** The rules' label, from `manifest.labelMap`. The host fills it in if the detector leaves it out. */
  semantic?: SemanticLabel;
  /**
   * Optional, for detectors that judge time themselves (the static-object detector reports an object only
   * after it stood still a while): the frame-clock time (ms) since which the object has been there. The
   * tracker counts dwell from it, so the detector's own latency does not add to the rules' dwell.
   */
  sinceMs?: number;
}

/** Pixel formats a detector may ask for. Frames arrive as rgb24; `gray8` detectors convert themselves. */
export type PixelFormat = 'rgb24' | 'bgr24' | 'gray8';

export interface DetectorManifest<O extends z.ZodType = z.ZodType> {
  /** Unique id, lowercase (`yolox-nano-416`, `static-object`). Cameras enable detectors by this id. */
  id: string;
  /** The detector's own version (semver); recorded in evidence with every hit. */
  version: string;
  /** Semver range of {@link DETECTOR_API} this detector is written for, e.g. `^1.0.0`. */
  api: string;
  description?: string;
  licence?: string;
  /** Model family for ONNX detectors (`yolox`, `yolov8`, `picodet`), or `custom`. */
  family?: string;
  /** Every label the detector can emit. */
  labels: readonly string[];
  /** Each label → semantic label, or null to drop it. Must cover every label. */
  labelMap: Readonly<Record<string, SemanticLabel | null>>;
  /** The model's input: what the detector resizes frames to, and the pixel format it feeds. */
  input: { width: number; height: number; pixelFormat: PixelFormat };
  /** Largest batch `detect` accepts; 1 means frames are run one at a time (the host pools runs instead). */
  maxBatch: number;
  /** zod schema of the options (strict: unknown options are errors). Its defaults are the detector's defaults. */
  options: O;
}

/** What the host gives a detector when it creates it. */
export interface DetectorContext {
  log: Logger;
  /** Finds a model or media file by name (asset resolver: $STREETWATCH_ASSETS, ../shared, cache). */
  resolveAsset(name: string): string;
  /** Threads one inference may use (ONNX intra-op threads). */
  threads: number;
  /**
   * The frame sizes (each camera's `frame`) of the cameras this instance serves: a detector may shape its
   * input for them (the ONNX detectors' `input.fit`). Optional; frames of other sizes must still work.
   */
  frames?: readonly { width: number; height: number }[];
}

export interface DetectorInstance {
  /**
   * Detects objects in each frame of `batch` (1..maxBatch frames). Resolves with one array per frame, in order.
   */
  detect(batch: readonly Frame[], signal: AbortSignal): Promise<Detection[][]>;
  /** Optional: one dummy run so the first real frame does not pay for lazy initialisation. */
  warmup?(): Promise<void>;
  /** Optional: drop per-camera state. */
  forgetCamera?(cameraId: string): void;
  /** Releases everything. Idempotent. */
  close(): Promise<void>;
}

export interface DetectorDefinition<O extends z.ZodType = z.ZodType> {
  manifest: DetectorManifest<O>;
  create(options: z.output<O>, ctx: DetectorContext): Promise<DetectorInstance> | DetectorInstance;
}

/**
 * Declares a detector. Checks the manifest's shape at once (so a mistake fails when the module loads, naming
 * the detector); the registry checks the API range, the label map and the options when it is enabled.
 */
export function defineDetector<O extends z.ZodType>(def: DetectorDefinition<O>): DetectorDefinition<O> {
  const m = def.manifest;
  const problems: string[] = [];
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(m.id ?? '')) problems.push(`id '${m.id}' must be lowercase letters, digits, . _ -`);
  if (!Array.isArray(m.labels) || m.labels.length === 0) problems.push('labels must list at least one label');
  if (!m.labelMap || typeof m.labelMap !== 'object') problems.push('labelMap is required');
  if (!Number.isInteger(m.maxBatch) || m.maxBatch < 1) problems.push('maxBatch must be an integer ≥ 1');
  if (!m.input || !(m.input.width > 0) || !(m.input.height > 0)) problems.push('input.width and input.height must be positive');
  if (!m.options || typeof (m.options as { safeParse?: unknown }).safeParse !== 'function') problems.push('options must be a zod schema');
  if (typeof def.create !== 'function') problems.push('create must be a function');
  if (problems.length) {
    throw new TypeError(`defineDetector('${m.id}'): ${problems.join('; ')}`);
  }
  return Object.freeze({ ...def, manifest: Object.freeze({ ...m }) });
}
