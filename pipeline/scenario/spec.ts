import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { cameraSchema } from '../../config/schema.js';
import { RULE_IDS } from '../../config/zones.js';
import { StreetwatchError } from '../../core/errors.js';

/**
 * A scenario spec: a real background video, real object crops pasted at known places and times, the camera's
 * zones, and for each object the violation it should cause (its truth) — or none, for a distractor.
 * Keep this format; extend it compatibly.
 */
export const scenarioObjectSchema = z.strictObject({
  image: z.string(),
  /** x, y, w, h in image pixels. */
  crop: z.tuple([z.number().int().min(0), z.number().int().min(0), z.number().int().positive(), z.number().int().positive()]).optional(),
  /** Where its bottom-centre goes, normalised. */
  at: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]),
  /** Its width in the frame, normalised. */
  width: z.number().positive().max(1),
  appear: z.number().min(0),
  leave: z.number().positive(),
  /** Moves it: its bottom-centre goes in a straight line from `at` (at appear) to `to` (at leave), normalised. */
  to: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).optional(),
  /** Shakes it by up to this much of the frame width each frame (a detector box that jitters). */
  jitter: z.number().min(0).max(0.1).optional(),
  /** [from, to] seconds within appear..leave when it is not shown (occluded, or missed by the detector). */
  hidden: z.array(z.tuple([z.number().min(0), z.number().positive()])).optional(),
  truth: z.strictObject({ type: z.enum(RULE_IDS), zone: z.string() }).optional(),
});

export const scenarioSpecSchema = z.strictObject({
  name: z.string().optional(),
  description: z.string().optional(),
  background: z.string(),
  /** Seconds. */
  duration: z.number().positive().max(3600),
  /** Wall-clock time of the video's start (ISO 8601 with offset): rules with hours are judged at it. */
  start: z.iso.datetime({ offset: true }).optional(),
  camera: cameraSchema.partial({ source: true }).extend({ id: z.string() }),
  objects: z.array(scenarioObjectSchema).default([]),
});

export type ScenarioSpec = z.infer<typeof scenarioSpecSchema>;

/** Reads a spec; relative paths in it are relative to the spec file. */
export async function loadScenarioSpec(file: string): Promise<{ spec: ScenarioSpec; baseDir: string }> {
  let raw: unknown;
  try {
    raw = parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new StreetwatchError('CONFIG_INVALID', `scenario spec ${file}: ${(e as Error).message}`);
  }
  const r = scenarioSpecSchema.safeParse(raw);
  if (!r.success) {
    throw new StreetwatchError('CONFIG_INVALID', `scenario spec ${file} is invalid — ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  for (const [i, o] of r.data.objects.entries()) {
    if (o.leave <= o.appear) throw new StreetwatchError('CONFIG_INVALID', `scenario spec ${file}: objects[${i}] leaves (${o.leave}) before it appears (${o.appear})`);
    for (const [a, b] of o.hidden ?? []) {
      if (!(b > a && a >= o.appear && b <= o.leave)) throw new StreetwatchError('CONFIG_INVALID', `scenario spec ${file}: objects[${i}].hidden [${a}, ${b}] must be an interval inside appear..leave (${o.appear}..${o.leave})`);
    }
    if (o.truth && o.to) throw new StreetwatchError('CONFIG_INVALID', `scenario spec ${file}: objects[${i}] moves (to) and has a truth, but the violations are stationary; drop one of them`);
    if (o.truth && !(r.data.camera.zones ?? []).some((z) => z.id === o.truth!.zone)) {
      throw new StreetwatchError('CONFIG_INVALID', `scenario spec ${file}: objects[${i}].truth names zone '${o.truth.zone}', which the camera does not have`);
    }
  }
  return { spec: r.data, baseDir: dirname(resolve(file)) };
}

export function specPath(p: string, baseDir: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}
