import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { z } from 'zod';
import { modelManifestSchema } from '../../core/asset-manifests.js';
import { StreetwatchError } from '../../core/errors.js';
import { PROJECT_ROOT } from '../../core/paths.js';
import { SEMANTIC_LABELS } from '../contract.js';
import { placement } from './preprocess.js';

/**
 * A model manifest (`models/<id>.json`) as the ONNX detectors read it: the asset fields (file, sha256, url,
 * licence) plus everything needed to feed and decode the model. core/asset-manifests.ts stays loose so that
 * fetch-assets works on any manifest; this schema is the strict one, because a wrong recipe here does not fail
 * loudly later — it silently halves the detector's recall.
 */
const dim = z.number().int().positive().nullable();
const tensorName = z.string().min(1);

const inputSchema = z.strictObject({
  /** Name of the image input tensor. */
  tensor: tensorName,
  /** Declared NCHW shape; null for a dynamic dimension. Checked against the real file at load. */
  shape: z.tuple([dim, z.literal(3), dim, dim]),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** letterbox-topleft (YOLOX), letterbox-centre (YOLOv8) or stretch (PicoDet: aspect not kept). */
  resize: z.enum(['letterbox-topleft', 'letterbox-centre', 'stretch']),
  colour: z.enum(['RGB', 'BGR']),
  /** value = (pixel · scale − mean) / std, per channel in the tensor's colour order. */
  scale: z.number().positive(),
  mean: z.tuple([z.number(), z.number(), z.number()]),
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
  /** Grey level of letterbox padding, in pixel units before scale/mean/std. */
  pad: z.number().min(0).max(255),
  /**
   * Second input of PaddleDetection exports: per image [height ratio, width ratio] of model input to frame,
   * which the in-graph post-processing uses to put boxes back into frame pixels.
   */
  scaleFactor: z.strictObject({ tensor: tensorName, shape: z.tuple([dim, z.literal(2)]) }).optional(),
  /**
   * Fully convolutional models (YOLOX, YOLOv8) only: the input may shrink to the frames. Each side becomes the
   * smallest multiple of `multipleOf` (the head's largest stride) that holds the letterboxed frame, so a 16:9
   * frame is not run through rows of padding: YOLOX-Nano 416×416 → 416×256 for 416×234 frames, 11.3 → 6.8 ms
   * per run, the same detections (the padding was flat grey). The file is opened with its declared shapes
   * rewritten (reshape.ts); the graph is unchanged.
   */
  fit: z.strictObject({ multipleOf: z.number().int().positive() }).optional(),
});

const probability = z.number().min(0).max(1);

export const modelDetectorManifestSchema = modelManifestSchema
  .extend({
    version: z.string().refine((v) => semver.valid(v) !== null, 'must be semver, e.g. 1.0.0'),
    input: inputSchema,
    /** The first output holds the detections; the others are listed so the load-time shape check covers them. */
    outputs: z.array(z.strictObject({ name: tensorName, shape: z.array(dim).min(1) })).min(1),
    /**
     * Frames one run accepts. 1 for fixed-batch exports (and for PicoDet's, whose graph fails past batch 1);
     * the detector then runs frames through its pool instead.
     */
    maxBatch: z.number().int().positive(),
    /**
     * PicoDet with maxBatch > 1 only: the output holding each image's row count (rows of all images are
     * concatenated in the detections output).
     */
    perImageCounts: tensorName.optional(),
    /** YOLOX only: the head's strides, in output row order. */
    strides: z.array(z.number().int().positive()).min(1).optional(),
    /** Class names in model order: a model class index is an index into this list. */
    classes: z.array(z.string().min(1)).min(1),
    labelMap: z.record(z.string(), z.enum(SEMANTIC_LABELS).nullable()),
    thresholds: z.strictObject({ default: probability, perClass: z.record(z.string(), probability).default({}) }),
    nms: z.strictObject({ iou: probability }),
  })
  .superRefine((m, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const classes = new Set(m.classes);
    if (classes.size !== m.classes.length) issue(['classes'], 'has duplicate names');
    const unmapped = m.classes.filter((c) => !(c in m.labelMap));
    if (unmapped.length) issue(['labelMap'], `has no entry for ${unmapped.join(', ')} (map each class to a semantic label or null)`);
    const stray = Object.keys(m.labelMap).filter((k) => !classes.has(k));
    if (stray.length) issue(['labelMap'], `maps names that are not classes: ${stray.join(', ')}`);
    const strayT = Object.keys(m.thresholds.perClass).filter((k) => !classes.has(k));
    if (strayT.length) issue(['thresholds', 'perClass'], `names that are not classes: ${strayT.join(', ')}`);
    const fixedBatch = m.input.shape[0];
    if (fixedBatch !== null && m.maxBatch !== fixedBatch) issue(['maxBatch'], `is ${m.maxBatch} but input.shape fixes the batch at ${fixedBatch}`);
    if (m.input.shape[2] !== null && m.input.shape[2] !== m.input.height) issue(['input', 'height'], `is ${m.input.height} but input.shape says ${m.input.shape[2]}`);
    if (m.input.shape[3] !== null && m.input.shape[3] !== m.input.width) issue(['input', 'width'], `is ${m.input.width} but input.shape says ${m.input.shape[3]}`);
    const out = m.outputs[0]!.shape;
    const nc = m.classes.length;
    if (m.family === 'yolox') {
      const rows = yoloxRows(m.input.width, m.input.height, m.strides ?? YOLOX_STRIDES);
      if (out.length !== 3 || (out[1] !== null && out[1] !== rows) || (out[2] !== null && out[2] !== 5 + nc)) {
        issue(['outputs', 0, 'shape'], `a YOLOX head on ${m.input.width}×${m.input.height} with ${nc} classes gives [N,${rows},${5 + nc}]`);
      }
    } else if (m.family === 'yolov8') {
      if (out.length !== 3 || (out[1] !== null && out[1] !== 4 + nc)) issue(['outputs', 0, 'shape'], `a YOLOv8 head with ${nc} classes gives [N,${4 + nc},anchors]`);
    } else if (m.family === 'picodet') {
      if (out.length !== 2 || (out[1] !== null && out[1] !== 6)) issue(['outputs', 0, 'shape'], 'PicoDet post-processed rows are [rows,6] (class, score, x1, y1, x2, y2)');
      if (!m.input.scaleFactor) issue(['input', 'scaleFactor'], 'is required for PicoDet (the graph takes scale_factor)');
      if (m.maxBatch > 1 && !m.perImageCounts) issue(['perImageCounts'], 'is required for PicoDet with maxBatch > 1 (which output says how many rows each image has)');
    }
    if (m.perImageCounts && !m.outputs.some((o) => o.name === m.perImageCounts)) issue(['perImageCounts'], `names '${m.perImageCounts}', which is not in outputs`);
    const fit = m.input.fit;
    if (fit) {
      if (m.family !== 'yolox' && m.family !== 'yolov8') issue(['input', 'fit'], `is for fully convolutional heads (yolox, yolov8), not ${m.family}`);
      if (m.input.resize === 'stretch') issue(['input', 'fit'], 'needs a letterbox resize (a stretched frame fills the whole input)');
      if (m.outputs.length !== 1) issue(['input', 'fit'], 'supports models with one output');
      if (m.input.width % fit.multipleOf || m.input.height % fit.multipleOf) issue(['input', 'fit', 'multipleOf'], `must divide the input size ${m.input.width}×${m.input.height}`);
    }
  });

export const YOLOX_STRIDES: readonly number[] = [8, 16, 32];
/** YOLOv8's anchor grid: one anchor per cell of each of these strides. */
const YOLOV8_STRIDES: readonly number[] = [8, 16, 32];

export function yoloxRows(width: number, height: number, strides: readonly number[]): number {
  return strides.reduce((n, s) => n + Math.floor(width / s) * Math.floor(height / s), 0);
}

export type ModelDetectorManifest = z.infer<typeof modelDetectorManifestSchema> & {
  /** Where it was read from, for error messages. */
  manifestPath: string;
  /** Set by fitToFrames: the input size the file declares, before its shapes are rewritten to `input`'s. */
  fittedFrom?: { width: number; height: number };
};

/**
 * The manifest as the model runs for frames of these sizes (`input.fit`): input width and height shrunk to the
 * smallest multiples of `multipleOf` that hold every frame letterboxed at the model's full scale, the output
 * shape to match. Unchanged without `fit`, without frames, or when nothing would shrink. Frames of other sizes
 * still work on the result: the letterbox then scales them to what fits.
 */
export function fitToFrames(m: ModelDetectorManifest, frames: readonly { width: number; height: number }[]): ModelDetectorManifest {
  const fit = m.input.fit;
  if (!fit || m.fittedFrom || frames.length === 0) return m;
  let w = 0;
  let h = 0;
  for (const f of frames) {
    const p = placement(f.width, f.height, m.input);
    w = Math.max(w, p.nw);
    h = Math.max(h, p.nh);
  }
  const up = (x: number) => Math.ceil(x / fit.multipleOf) * fit.multipleOf;
  const width = Math.min(m.input.width, up(w));
  const height = Math.min(m.input.height, up(h));
  if (width === m.input.width && height === m.input.height) return m;
  const n = m.input.shape[0];
  const out = m.outputs[0]!.shape;
  const cells = yoloxRows(width, height, m.family === 'yolox' ? (m.strides ?? YOLOX_STRIDES) : YOLOV8_STRIDES);
  const shape = m.family === 'yolox' ? [out[0] ?? null, cells, out[2] ?? null] : [out[0] ?? null, out[1] ?? null, cells];
  return {
    ...m,
    input: { ...m.input, width, height, shape: [n, 3, height, width] },
    outputs: [{ name: m.outputs[0]!.name, shape }],
    fittedFrom: { width: m.input.width, height: m.input.height },
  };
}

export const MODELS_DIR = join(PROJECT_ROOT, 'models');

/** Reads every models/*.json as a detector manifest. A bad one is an error naming the file and the key. */
export function loadModelDetectorManifests(dir = MODELS_DIR): ModelDetectorManifest[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((name) => {
      const path = join(dir, name);
      return parseModelDetectorManifest(path, readFileSync(path, 'utf8'));
    });
}

export function parseModelDetectorManifest(path: string, text: string): ModelDetectorManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new StreetwatchError('ASSET_MANIFEST_INVALID', `model manifest ${path} is not valid JSON: ${(e as Error).message}. Fix the file.`, { details: { path } });
  }
  const r = modelDetectorManifestSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    // An unmapped class gets the registry's code, so the same mistake reads the same from code or manifest.
    const code = r.error.issues.some((i) => i.path[0] === 'labelMap' && i.message.startsWith('has no entry')) ? 'DETECTOR_LABEL_MAP_MISSING' : 'ASSET_MANIFEST_INVALID';
    throw new StreetwatchError(code, `model manifest ${path} is invalid — ${issues.join('; ')}. Fix the file.`, { details: { path, issues } });
  }
  return { ...r.data, manifestPath: path };
}
