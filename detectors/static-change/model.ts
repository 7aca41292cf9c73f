/**
 * The static-change model: a pure reducer over small grey frames that finds regions which changed and then
 * stayed still — the classic abandoned-object technique (DESIGN.md). It is class-agnostic, so it sees the
 * boxes, crates and piles of goods that COCO detectors cannot name.
 *
 * Per pixel, two background estimates:
 *   long-term  the empty scene: the median of the first `warmupSec` (robust to people walking through), then
 *              updated slowly (`longRate`) and only where the pixel matches it, so a new object is never
 *              absorbed while it stays;
 *   short-term the recent scene (`shortRate`): absorbs a new object in a few seconds, never a walking person.
 * A pixel is static when it differs from the long-term background but not from the short-term one. A counter
 * of static seconds grows while that holds and falls twice as fast when it stops. It is capped at
 * `maxCounterSec`, so a removed object stops being reported within (maxCounterSec − minStaticSec) / 2 s instead
 * of lingering as long as it stayed. Pixels whose counter reached `minStaticSec` form the mask; its cleaned-up
 * connected regions within the size limits are reported.
 *
 * Rates are per second and every duration is in seconds of frame time (`tMs`, the frame's wall clock), so the
 * result does not depend on the frame rate: the prototype's per-frame rates at 2 fps (0.005 and 0.2) are
 * 0.01/s and 0.36/s here.
 *
 * What is not an object:
 *   - a global brightness change (clouds, auto exposure, street lights): the frame is compared with the
 *     long-term background after mapping its grey levels onto the background's (gain and offset matched on
 *     the quartiles); a frame where most pixels still changed (camera moved, lights switched) starts the
 *     seeding again instead of being reported;
 *   - the ghost a removed object leaves (a car that was parked during seeding drives off): its outline is in
 *     the background, not in the frame (`ghostRatio`); it is absorbed into the background;
 *   - a local shadow or patch of sun: the texture under it stays (`lightingCorrelation`); absorbed too;
 *   - anything static for `absorbSec` becomes the scene (a shop's opened shutter), so the model does not report
 *     one change forever.
 * A person who stands still for `minStaticSec` IS a static change: the rules combine these regions with the
 * person detections (a vendor staying beside their goods is exactly what 流动设摊 looks like).
 * An object already there while the background is seeded is part of the scene and never reported.
 */
import { overlapOfSmaller } from '../../core/box.js';
import type { Box } from '../contract.js';
import { levels, type GreyFrame } from './grey.js';
import { cleanMask, components, outlineEdges, textureCorrelation, trackRegions, type Component, type RegionTrack } from './regions.js';

export type { GreyFrame };

export interface StaticParams {
  /** Grey-level difference (0..255) that counts as a change. */
  diffThreshold: number;
  /** Fraction per second the long-term background moves towards the frame where they match. */
  longRate: number;
  /** Fraction per second the short-term background moves towards the frame. */
  shortRate: number;
  /** Seconds a pixel must be static before it is part of a reported region. */
  minStaticSec: number;
  /** Cap of the per-pixel static counter, seconds (> minStaticSec). */
  maxCounterSec: number;
  /** Seconds of frames whose median seeds the long-term background. */
  warmupSec: number;
  /** Most frames kept for that median (spread evenly over warmupSec). */
  warmupSamples: number;
  /** Region size limits, fractions of the frame. */
  minArea: number;
  maxArea: number;
  /** Fraction of changed pixels above which the whole scene is taken to have changed (seed again). */
  globalChange: number;
  /** Longest frame gap counted as elapsed time, seconds: after a stall nothing counts as seen-still. */
  maxGapSec: number;
  /** A region whose outline is this many times stronger in the background than in the frame is a ghost. */
  ghostRatio: number;
  /** A region whose texture correlates with the background this well (0..1) is a shadow or light patch. */
  lightingCorrelation: number;
  /** Seconds after which a static pixel becomes part of the scene; 0 = never. */
  absorbSec: number;
}

export const DEFAULT_PARAMS: Readonly<StaticParams> = Object.freeze({
  diffThreshold: 25,
  longRate: 0.01,
  shortRate: 0.36,
  minStaticSec: 10,
  maxCounterSec: 16,
  warmupSec: 4,
  warmupSamples: 25,
  minArea: 0.0008,
  maxArea: 0.25,
  globalChange: 0.6,
  maxGapSec: 10,
  ghostRatio: 1.5,
  lightingCorrelation: 0.85,
  absorbSec: 3600,
});

export interface Region {
  /** Stable while the region is followed from frame to frame. */
  id: number;
  /** Normalised [x1, y1, x2, y2]. */
  box: Box;
  /** Pixels of the small grey frame in the region. */
  pixels: number;
  /** Frame-clock ms since which the object has been there (earliest arrival of its pixels, robustly). */
  sinceMs: number;
  /** Seconds it has been there at this frame. */
  staticSec: number;
  /** 0..1: how solid (pixels / box area) and how established (static time) the region is. */
  score: number;
}

/**
 * Everything the model remembers about one camera. `step` never writes into a state it is given (a new state
 * comes back), so a state can be kept, compared and replayed; the arrays are plain typed arrays for speed.
 */
export interface StaticState {
  readonly width: number;
  readonly height: number;
  readonly lastMs: number;
  /** Set while the long-term background is being seeded (at start and after a global change). */
  readonly warmup: { readonly startMs: number; readonly lastSampleMs: number; readonly samples: readonly Uint8Array[] } | null;
  readonly long: Float32Array;
  readonly short: Float32Array;
  /** Static seconds per pixel, capped. */
  readonly counter: Float32Array;
  /** Seconds since each pixel's counter last left zero (uncapped: how long the object has been there). */
  readonly age: Float32Array;
  readonly tracks: readonly RegionTrack[];
  readonly nextId: number;
  /** How many times a global change made the model seed again. */
  readonly reseeds: number;
}

export interface StepResult {
  state: StaticState;
  regions: Region[];
}

/** The state after the first frame of a camera (it becomes the first seeding sample). */
export function initialState(g: GreyFrame, tMs: number): StaticState {
  const n = g.width * g.height;
  if (g.data.length !== n) throw new RangeError(`grey frame has ${g.data.length} bytes, ${g.width}×${g.height} needs ${n}`);
  return {
    width: g.width,
    height: g.height,
    lastMs: tMs,
    warmup: { startMs: tMs, lastSampleMs: tMs, samples: [g.data.slice()] },
    long: new Float32Array(n),
    short: Float32Array.from(g.data),
    counter: new Float32Array(n),
    age: new Float32Array(n),
    tracks: [],
    nextId: 1,
    reseeds: 0,
  };
}

interface Scratch {
  n: number;
  mask: Uint8Array;
  tmp: Uint8Array;
  tmp2: Uint8Array;
  labels: Int32Array;
  order: Int32Array;
  values: Float32Array;
  hist: Uint32Array;
}
let scratch: Scratch | undefined;
// Working arrays that never outlive one call: shared by all cameras (JavaScript runs one step at a time).
function scratchFor(n: number): Scratch {
  if (!scratch || scratch.n < n) {
    scratch = { n, mask: new Uint8Array(n), tmp: new Uint8Array(n), tmp2: new Uint8Array(n), labels: new Int32Array(n), order: new Int32Array(n), values: new Float32Array(n), hist: new Uint32Array(256) };
  }
  return scratch;
}

/** 1 − (1 − rate)^dt: the per-second rate applied over dt seconds, whatever the frame rate. */
const blend = (rate: number, dt: number) => 1 - Math.pow(1 - Math.min(rate, 0.999999), dt);

function median(samples: readonly Uint8Array[], out: Float32Array): void {
  const col = new Uint8Array(samples.length);
  const mid = samples.length >> 1;
  for (let i = 0; i < out.length; i++) {
    for (let k = 0; k < samples.length; k++) col[k] = samples[k]![i]!;
    col.sort();
    out[i] = samples.length % 2 ? col[mid]! : (col[mid - 1]! + col[mid]!) / 2;
  }
}

/**
 * Advances the model by one frame taken at `tMs` (frame-clock ms; frames in time order). Returns the next
 * state and the static regions in this frame. `s` is left untouched. `spare`, if given, is a state the caller
 * no longer needs (e.g. the one before `s`): its arrays are reused for the new state instead of allocating.
 */
export function step(s: StaticState, g: GreyFrame, tMs: number, p: Readonly<StaticParams> = DEFAULT_PARAMS, spare?: StaticState): StepResult {
  const { width: w, height: h } = s;
  const n = w * h;
  if (g.width !== w || g.height !== h || g.data.length !== n) {
    throw new RangeError(`grey frame is ${g.width}×${g.height}, the model was started at ${w}×${h}`);
  }
  const dt = Math.max(0, Math.min(p.maxGapSec, (tMs - s.lastMs) / 1000));
  const reuse = spare && spare !== s && spare.width === w && spare.height === h && spare.long !== s.long;
  const long = reuse ? spare.long : new Float32Array(n);
  const short = reuse ? spare.short : new Float32Array(n);
  const counter = reuse ? spare.counter : new Float32Array(n);
  const age = reuse ? spare.age : new Float32Array(n);
  const v = g.data;
  const aS = blend(p.shortRate, dt);
  for (let i = 0; i < n; i++) short[i] = s.short[i]! + aS * (v[i]! - s.short[i]!);

  if (s.warmup) {
    const wu = s.warmup;
    const spacing = (p.warmupSec * 1000) / Math.max(1, p.warmupSamples);
    const take = wu.samples.length < p.warmupSamples && tMs - wu.lastSampleMs >= spacing;
    const samples = take ? [...wu.samples, v.slice()] : wu.samples;
    counter.fill(0);
    age.fill(0);
    const base = { width: w, height: h, lastMs: tMs, short, counter, age, tracks: [], nextId: s.nextId, reseeds: s.reseeds };
    if (tMs - wu.startMs >= p.warmupSec * 1000 && (samples.length >= 3 || p.warmupSec === 0)) {
      median(samples, long);
      return { state: { ...base, warmup: null, long }, regions: [] };
    }
    long.set(s.long);
    return { state: { ...base, warmup: { startMs: wu.startMs, lastSampleMs: take ? tMs : wu.lastSampleMs, samples }, long }, regions: [] };
  }

  const sc = scratchFor(n);
  const { gain, offset } = matchLevels(s.long, v, sc.hist);
  const thr = p.diffThreshold;
  const aL = blend(p.longRate, dt);
  const mask = sc.mask;
  let changed = 0;
  // Locals, not property reads, in the hot loop: V8 cannot hoist them past the typed-array stores.
  const L0 = s.long, S0 = s.short, C0 = s.counter, A0 = s.age;
  const cap = p.maxCounterSec, minStatic = p.minStaticSec, absorbAt = p.absorbSec > 0 ? p.absorbSec : Infinity;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    const vn = x * gain + offset;
    const l0 = L0[i]!;
    const dl = vn - l0 > thr || l0 - vn > thr;
    const ds = x - S0[i]! > thr || S0[i]! - x > thr;
    const c0 = C0[i]!;
    let c: number;
    let l = l0;
    if (dl) {
      changed++;
      c = ds ? c0 - 2 * dt : c0 + dt;
      if (c > cap) c = cap;
    } else {
      c = c0 - 2 * dt;
      l = l0 + aL * (vn - l0);
    }
    if (c < 0) c = 0;
    let a = c > 0 ? (c0 > 0 ? A0[i]! + dt : dt) : 0;
    if (a >= absorbAt && c >= minStatic) {
      l = vn;
      c = 0;
      a = 0;
    }
    long[i] = l;
    counter[i] = c;
    age[i] = a;
    mask[i] = c >= minStatic ? 1 : 0;
  }
  if (changed > p.globalChange * n) {
    // The whole scene changed at once (camera moved, lights switched): seed again from the coming frames
    // rather than report it. What was computed above is discarded.
    long.set(s.long);
    short.set(v);
    counter.fill(0);
    age.fill(0);
    return {
      state: { width: w, height: h, lastMs: tMs, warmup: { startMs: tMs, lastSampleMs: tMs, samples: [v.slice()] }, long, short, counter, age, tracks: [], nextId: s.nextId, reseeds: s.reseeds + 1 },
      regions: [],
    };
  }

  cleanMask(mask, sc.tmp, sc.tmp2, w, h);
  const comps = components(mask, w, h, sc.labels, sc.order);
  const found: { box: Box; sinceMs: number; c: Component }[] = [];
  const scene: { c: Component; label: number }[] = [];
  for (const [k, c] of comps.entries()) {
    const area = c.count / n;
    if (area < p.minArea) continue;
    const box: Box = [c.x1 / w, c.y1 / h, (c.x2 + 1) / w, (c.y2 + 1) / h];
    // Judged once, when it first shows: an object already reported is not re-judged every frame, where
    // one unlucky frame (a walker's outline, a reflection) would absorb it for good. Every verdict is taken
    // on the background as it was, before this frame's absorptions.
    const known = s.tracks.some((t) => overlapOfSmaller(t.box, box) >= 0.5);
    if (!known && isSceneChange(c, k + 1, w, h, v, gain, offset, long, sc, p)) {
      scene.push({ c, label: k + 1 });
      continue;
    }
    if (area > p.maxArea) continue;
    for (let j = 0; j < c.count; j++) sc.values[j] = age[sc.order[c.start + j]!]!;
    const ages = sc.values.subarray(0, c.count).sort();
    found.push({ box, sinceMs: tMs - ages[c.count >> 1]! * 1000, c });
  }
  for (const { c, label } of scene) absorb(c, label, w, h, v, gain, offset, long, counter, age, sc);
  const { tracks, nextId } = trackRegions(s.tracks, found, s.nextId);
  const regions = tracks.map((t, k): Region => {
    const c = found[k]!.c;
    const staticSec = (tMs - t.sinceMs) / 1000;
    const solidity = c.count / ((c.x2 - c.x1 + 1) * (c.y2 - c.y1 + 1));
    const established = Math.min(1, staticSec / (1.5 * p.minStaticSec));
    return { id: t.id, box: t.box, pixels: c.count, sinceMs: t.sinceMs, staticSec, score: Math.min(1, 0.5 * solidity + 0.5 * established) };
  });
  return { state: { width: w, height: h, lastMs: tMs, warmup: null, long, short, counter, age, tracks, nextId, reseeds: s.reseeds }, regions };
}

/**
 * The linear map (gain, offset) that brings the frame's grey levels onto the background's: matched on the
 * quartiles, which a crowd or a few objects barely move. Exposure and daylight act mostly as a gain, a
 * camera's black level or haze as an offset; both are covered. A flat scene (no spread) gets a gain only.
 */
function matchLevels(background: Float32Array, frame: Uint8Array, hist: Uint32Array): { gain: number; offset: number } {
  const b = levels(background, hist);
  const f = levels(frame, hist);
  const sb = b.q75 - b.q25;
  const sf = f.q75 - f.q25;
  let gain = sb >= 8 && sf >= 8 ? sb / sf : f.q50 > 0 && b.q50 > 0 ? b.q50 / f.q50 : 1;
  gain = Math.min(2, Math.max(0.5, gain));
  return { gain, offset: b.q50 - gain * f.q50 };
}

/** A ghost of something that left, or a shadow / light patch: a change of the scene, not an object. */
function isSceneChange(c: Component, label: number, w: number, h: number, v: Uint8Array, gain: number, offset: number, long: Float32Array, sc: Scratch, p: Readonly<StaticParams>): boolean {
  const e = outlineEdges(c, sc.order, sc.labels, label, w, h, v, gain, long);
  // Weak outlines on both sides (a flat object on flat ground) say nothing either way: keep reporting.
  if (e.pixels >= 4 && e.background > 2 * p.diffThreshold && e.background > p.ghostRatio * e.now) return true;
  if (p.lightingCorrelation < 1) {
    // A few pixels correlate by chance: it takes a patch of texture, all of it darker or all brighter.
    const t = textureCorrelation(c, label, sc.labels, w, h, v, long, gain, offset, p.diffThreshold / 3);
    if (t.pixels >= 20 && t.sdBackground >= 4 && t.sdFrame >= 3 && t.oneWay >= 0.9 && t.ncc >= p.lightingCorrelation) return true;
  }
  return false;
}

/**
 * Makes a component part of the scene: its pixels, and the changed pixels around it that belong to no other
 * region (the rim the mask clean-up trimmed), take the frame's value as background and forget their time.
 */
function absorb(c: Component, label: number, w: number, h: number, v: Uint8Array, gain: number, offset: number, long: Float32Array, counter: Float32Array, age: Float32Array, sc: Scratch): void {
  const set = (i: number) => {
    long[i] = v[i]! * gain + offset;
    counter[i] = 0;
    age[i] = 0;
  };
  for (let j = c.start; j < c.start + c.count; j++) set(sc.order[j]!);
  for (let y = Math.max(0, c.y1 - 2); y <= Math.min(h - 1, c.y2 + 2); y++) {
    for (let x = Math.max(0, c.x1 - 2); x <= Math.min(w - 1, c.x2 + 2); x++) {
      const i = y * w + x;
      if (counter[i]! > 0 && (sc.labels[i] === 0 || sc.labels[i] === label)) set(i);
    }
  }
}
