import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { modelManifestSchema } from '../../core/asset-manifests.js';
import { StreetwatchError } from '../../core/errors.js';
import { PROJECT_ROOT } from '../../core/paths.js';
import { SEMANTIC_LABELS } from '../contract.js';

/**
 * A model manifest (`models/<id>.json`) as the ONNX detectors read it: the asset fields (file, sha256, url,
 * licence) plus everything needed to feed and decode the model. A new model of a known family is just a new
 * manifest — no code.
 */
const dim = z.number().int().positive().nullable();

export const onnxManifestSchema = modelManifestSchema.extend({
  version: z.string(),
  input: z.strictObject({
    /** Name of the image input tensor. */
    tensor: z.string(),
    /** Declared NCHW shape; null for a dynamic dimension (batch). Checked against the real file at load. */
    shape: z.tuple([dim, z.literal(3), dim, dim]),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    /** letterbox-topleft (YOLOX), letterbox-centre (YOLOv8) or stretch (PicoDet: aspect not kept). */
    resize: z.enum(['letterbox-topleft', 'letterbox-centre', 'stretch']),
    colour: z.enum(['RGB', 'BGR']),
    /** value = (pixel · scale − mean) / std, per channel in the tensor's colour order. */
    scale: z.number(),
    mean: z.tuple([z.number(), z.number(), z.number()]),
    std: z.tuple([z.number(), z.number(), z.number()]),
    /** Grey level of letterbox padding (in pixel units, before scale/mean/std). */
    pad: z.number().min(0).max(255),
  }),
  outputs: z.array(z.strictObject({ name: z.string(), shape: z.array(dim) })).min(1),
  /** Frames one run accepts. 1 for fixed-batch exports; the host pools single runs instead. */
  maxBatch: z.number().int().positive(),
  classes: z.array(z.string()).min(1),
  labelMap: z.record(z.string(), z.enum(SEMANTIC_LABELS).nullable()),
  thresholds: z.strictObject({ default: z.number().min(0).max(1), perClass: z.record(z.string(), z.number().min(0).max(1)).default({}) }),
  nms: z.strictObject({ iou: z.number().min(0).max(1) }),
});

export type OnnxModelManifest = z.infer<typeof onnxManifestSchema> & { manifestPath: string };

/** Reads every models/*.json as an ONNX detector manifest. A bad one is an error naming file and key. */
export function loadModelDetectorManifests(dir = join(PROJECT_ROOT, 'models')): OnnxModelManifest[] {
  const out: OnnxModelManifest[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const path = join(dir, name);
    out.push(parseOnnxManifest(path, readFileSync(path, 'utf8')));
  }
  return out;
}

export function parseOnnxManifest(path: string, text: string): OnnxModelManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new StreetwatchError('ASSET_MANIFEST_INVALID', `model manifest ${path} is not valid JSON: ${(e as Error).message}`);
  }
  const r = onnxManifestSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new StreetwatchError('ASSET_MANIFEST_INVALID', `model manifest ${path} is invalid — ${issues.join('; ')}`, { details: { path, issues } });
  }
  const m = r.data;
  const unmapped = m.classes.filter((c) => !(c in m.labelMap));
  if (unmapped.length) {
    throw new StreetwatchError('DETECTOR_LABEL_MAP_MISSING', `model manifest ${path}: classes without a labelMap entry: ${unmapped.join(', ')} (map each to a semantic label or null)`);
  }
  return { ...m, manifestPath: path };
}
