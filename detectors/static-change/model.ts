/**
 * The static-change model: a pure reducer over small grey frames that finds regions which changed and then
 * stayed still — the classic abandoned-object technique (DESIGN.md), class-agnostic, so it sees boxes, crates
 * and piles of goods that COCO detectors cannot name.
 *
 * Per pixel, two background estimates:
 *   long-term  the empty scene: the median of the first `warmupSec`, then updated slowly (time constant
 *              `longTauSec`) and only where the pixel matches it, so a new object is never absorbed;
 *   short-term the recent scene (time constant `shortTauSec`): a new object is absorbed in seconds, a walking
 *              person never is.
 * A pixel is static when it differs from the long-term background but not from the short-term one. A counter
 * of static seconds grows while that holds and falls twice as fast when it stops; it is capped at
 * `maxCounterSec`, so a removed object stops being reported within (maxCounterSec − minStaticSec) / 2 s.
 * Pixels whose counter reached `minStaticSec` form the mask; connected regions of it are reported.
 *
 * Time is an argument (`tMs`, the frame's wall time): results do not depend on the frame rate.
 * A global brightness shift (clouds, street lights) is removed by comparing against the long-term background
 * after matching mean brightness; a frame where most pixels changed at once (camera moved, lights switched)
 * re-seeds the model instead of reporting it.
 * A person who stands still long enough is a static change too: the rules combine this with person
 * detections (a vendor staying beside their goods is exactly what 流动设摊 looks like).
 */
export interface StaticParams {
  diffThreshold: number;
  longTauSec: number;
  shortTauSec: number;
  minStaticSec: number;
  maxCounterSec: number;
  warmupSec: number;
  /** Region size limits as fractions of the frame. */
  minArea: number;
  maxArea: number;
  /** Fraction of changed pixels above which the whole scene is taken to have changed (re-seed). */
  globalChange: number;
}

export const DEFAULT_PARAMS: StaticParams = {
  diffThreshold: 25,
  longTauSec: 100,
  shortTauSec: 2.2,
  minStaticSec: 10,
  maxCounterSec: 16,
  warmupSec: 4,
  minArea: 0.0008,
  maxArea: 0.25,
  globalChange: 0.6,
};

export interface GreyFrame {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface Region {
  /** Normalised [x1, y1, x2, y2]. */
  box: [number, number, number, number];
  /** Pixels in the region (of the small grey frame). */
  pixels: number;
  /** Mean static time over the region's pixels, seconds: a conservative "how long has it been there". */
  staticSec: number;
  /** 0..1: how solid (pixels / box area) and how established (static time) the region is. */
  score: number;
}

export interface StaticState {
  width: number;
  height: number;
  samples: Uint8Array[];
  t0: number;
  lastT: number;
  long: Float32Array | undefined;
  short: Float32Array;
  counter: Float32Array;
  /** Scratch masks, reused. */
  mask: Uint8Array;
  tmp: Uint8Array;
  labels: Int32Array;
}

export function initialState(g: GreyFrame, tMs: number): StaticState {
  const n = g.width * g.height;
  return {
    width: g.width,
    height: g.height,
    samples: [g.data.slice()],
    t0: tMs,
    lastT: tMs,
    long: undefined,
    short: Float32Array.from(g.data),
    counter: new Float32Array(n),
    mask: new Uint8Array(n),
    tmp: new Uint8Array(n),
    labels: new Int32Array(n),
  };
}

function median(samples: Uint8Array[], n: number): Float32Array {
  const out = new Float32Array(n);
  const col = new Uint8Array(samples.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < samples.length; k++) col[k] = samples[k]![i]!;
    col.sort();
    out[i] = col[col.length >> 1]!;
  }
  return out;
}

/** Advances the model by one frame at time `tMs`; returns the static regions now. Mutates `s` (it owns its buffers). */
export function step(s: StaticState, g: GreyFrame, tMs: number, p: StaticParams = DEFAULT_PARAMS): Region[] {
  const n = s.width * s.height;
  const dt = Math.max(0, Math.min(5, (tMs - s.lastT) / 1000));
  s.lastT = tMs;
  const aS = 1 - Math.exp(-dt / p.shortTauSec);
  if (!s.long) {
    s.samples.push(g.data.slice());
    for (let i = 0; i < n; i++) s.short[i]! += aS * (g.data[i]! - s.short[i]!);
    if ((tMs - s.t0) / 1000 >= p.warmupSec && s.samples.length >= 3) {
      s.long = median(s.samples, n);
      s.samples = [];
    }
    return [];
  }
  const long = s.long;
  let sumG = 0;
  let sumL = 0;
  for (let i = 0; i < n; i++) {
    sumG += g.data[i]!;
    sumL += long[i]!;
  }
  const offset = (sumG - sumL) / n;
  const thr = p.diffThreshold;
  let changed = 0;
  for (let i = 0; i < n; i++) if (Math.abs(g.data[i]! - offset - long[i]!) > thr) changed++;
  if (changed > p.globalChange * n) {
    // The whole scene changed at once: start again from this frame rather than report it.
    long.set(g.data);
    s.short.set(g.data);
    s.counter.fill(0);
    return [];
  }
  const aL = 1 - Math.exp(-dt / p.longTauSec);
  const counter = s.counter;
  const mask = s.mask;
  for (let i = 0; i < n; i++) {
    const v = g.data[i]!;
    const dl = Math.abs(v - offset - long[i]!) > thr;
    const ds = Math.abs(v - s.short[i]!) > thr;
    let c = counter[i]!;
    if (dl && !ds) c = Math.min(p.maxCounterSec, c + dt);
    else c = Math.max(0, c - 2 * dt);
    counter[i] = c;
    mask[i] = c >= p.minStaticSec ? 1 : 0;
    s.short[i]! += aS * (v - s.short[i]!);
    if (!dl) long[i]! += aL * (v - offset - long[i]!);
  }
  open3(mask, s.tmp, s.width, s.height);
  return regions(s, p);
}

/** Morphological opening (3×3 erode, then dilate): removes specks and thin slivers of noise. */
function open3(mask: Uint8Array, tmp: Uint8Array, w: number, h: number): void {
  tmp.fill(0);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      tmp[i] = mask[i - w - 1]! & mask[i - w]! & mask[i - w + 1]! & mask[i - 1]! & mask[i]! & mask[i + 1]! & mask[i + w - 1]! & mask[i + w]! & mask[i + w + 1]!;
    }
  }
  mask.fill(0);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      if (!tmp[i]) continue;
      mask[i - w - 1] = mask[i - w] = mask[i - w + 1] = mask[i - 1] = mask[i] = mask[i + 1] = mask[i + w - 1] = mask[i + w] = mask[i + w + 1] = 1;
    }
  }
}

/** 8-connected components of the mask (iterative flood fill), filtered by size. */
function regions(s: StaticState, p: StaticParams): Region[] {
  const { width: w, height: h, mask, labels, counter } = s;
  labels.fill(0);
  const out: Region[] = [];
  const n = w * h;
  const stack: number[] = [];
  let next = 0;
  for (let start = 0; start < n; start++) {
    if (!mask[start] || labels[start]) continue;
    const label = ++next;
    labels[start] = label;
    stack.push(start);
    let x1 = w, y1 = h, x2 = -1, y2 = -1, pixels = 0, maxC = 0, sumC = 0;
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % w;
      const y = (i - x) / w;
      pixels++;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
      if (counter[i]! > maxC) maxC = counter[i]!;
      sumC += counter[i]!;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= w) continue;
          const j = yy * w + xx;
          if (mask[j] && !labels[j]) {
            labels[j] = label;
            stack.push(j);
          }
        }
      }
    }
    const area = pixels / n;
    if (area < p.minArea || area > p.maxArea) continue;
    const solidity = pixels / ((x2 - x1 + 1) * (y2 - y1 + 1));
    const established = Math.min(1, maxC / p.maxCounterSec);
    out.push({
      box: [x1 / w, y1 / h, (x2 + 1) / w, (y2 + 1) / h],
      pixels,
      staticSec: sumC / pixels,
      score: Math.min(1, Math.max(0, 0.5 * solidity + 0.5 * established)),
    });
  }
  return out;
}

/** rgb24 → grey at `width` columns (height keeps the aspect), by averaging whole source blocks. */
export function toGrey(rgb: Uint8Array, srcW: number, srcH: number, width: number, out?: GreyFrame): GreyFrame {
  const w = Math.min(width, srcW);
  const h = Math.max(1, Math.round((srcH * w) / srcW));
  const g = out && out.width === w && out.height === h ? out : { width: w, height: h, data: new Uint8Array(w * h) };
  for (let y = 0; y < h; y++) {
    const sy0 = Math.floor((y * srcH) / h);
    const sy1 = Math.max(sy0 + 1, Math.floor(((y + 1) * srcH) / h));
    for (let x = 0; x < w; x++) {
      const sx0 = Math.floor((x * srcW) / w);
      const sx1 = Math.max(sx0 + 1, Math.floor(((x + 1) * srcW) / w));
      let sum = 0;
      for (let sy = sy0; sy < sy1; sy++) {
        let o = (sy * srcW + sx0) * 3;
        for (let sx = sx0; sx < sx1; sx++, o += 3) sum += 77 * rgb[o]! + 150 * rgb[o + 1]! + 29 * rgb[o + 2]!;
      }
      g.data[y * w + x] = sum / ((sy1 - sy0) * (sx1 - sx0)) / 256;
    }
  }
  return g;
}
