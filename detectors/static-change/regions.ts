/**
 * Mask clean-up, connected components and region tracking for the static-change model. Everything works on
 * one-byte masks of the small grey working image; pure functions over caller-owned scratch arrays.
 */
import { iou, overlapOfSmaller } from '../../core/box.js';
import type { Box } from '../contract.js';

/**
 * Opening then closing with a 3×3 square: opening removes specks and one- or two-pixel slivers (noise, the
 * thin rim a slow walker leaves); closing then bridges one-pixel gaps, so a crate whose middle happens to
 * match the pavement is still one region. Result in `mask`; `a` and `b` are scratch of the same size.
 */
export function cleanMask(mask: Uint8Array, a: Uint8Array, b: Uint8Array, w: number, h: number): void {
  morph3(mask, a, b, w, h, true);
  morph3(a, mask, b, w, h, false);
  morph3(mask, a, b, w, h, false);
  morph3(a, mask, b, w, h, true);
}

/**
 * 3×3 erosion (`and`) or dilation, done separably (a row pass into `tmp`, then a column pass): 6 reads per
 * pixel instead of 9. Pixels on the frame border have no full neighbourhood and come out 0, so an object cut
 * by the frame edge loses its outermost pixel row or column — harmless at this scale.
 */
function morph3(src: Uint8Array, dst: Uint8Array, tmp: Uint8Array, w: number, h: number, and: boolean): void {
  for (let y = 0; y < h; y++) {
    const r = y * w;
    for (let x = 1; x < w - 1; x++) {
      const i = r + x;
      tmp[i] = and ? src[i - 1]! & src[i]! & src[i + 1]! : src[i - 1]! | src[i]! | src[i + 1]!;
    }
  }
  dst.fill(0, 0, w * h);
  for (let y = 1; y < h - 1; y++) {
    const r = y * w;
    for (let x = 1; x < w - 1; x++) {
      const i = r + x;
      dst[i] = and ? tmp[i - w]! & tmp[i]! & tmp[i + w]! : tmp[i - w]! | tmp[i]! | tmp[i + w]!;
    }
  }
}

/** One 8-connected component: its pixel-inclusive bounds and its pixels, `order[start .. start+count)`. */
export interface Component {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  start: number;
  count: number;
}

/**
 * 8-connected components of `mask` (iterative flood fill, no recursion). `labels` gets 1-based component
 * numbers (0 = background); `order` gets every component's pixel indices, contiguous per component.
 */
export function components(mask: Uint8Array, w: number, h: number, labels: Int32Array, order: Int32Array): Component[] {
  const n = w * h;
  labels.fill(0, 0, n);
  const out: Component[] = [];
  let top = 0;
  for (let seed = 0; seed < n; seed++) {
    if (!mask[seed] || labels[seed]) continue;
    const label = out.length + 1;
    const start = top;
    // `order` doubles as the flood-fill queue: everything before `top` is labelled, `head` walks it.
    labels[seed] = label;
    order[top++] = seed;
    let x1 = w, y1 = h, x2 = -1, y2 = -1;
    for (let head = start; head < top; head++) {
      const i = order[head]!;
      const x = i % w;
      const y = (i - x) / w;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
      for (let yy = Math.max(0, y - 1); yy <= Math.min(h - 1, y + 1); yy++) {
        for (let xx = Math.max(0, x - 1); xx <= Math.min(w - 1, x + 1); xx++) {
          const j = yy * w + xx;
          if (mask[j] && !labels[j]) {
            labels[j] = label;
            order[top++] = j;
          }
        }
      }
    }
    out.push({ x1, y1, x2, y2, start, count: top - start });
  }
  return out;
}

/** Sobel gradient magnitude (|gx| + |gy|) of `a` at interior pixel `i`, each sample multiplied by `gain`. */
export function sobel(a: ArrayLike<number>, i: number, w: number, gain = 1): number {
  const gx = a[i - w + 1]! + 2 * a[i + 1]! + a[i + w + 1]! - a[i - w - 1]! - 2 * a[i - 1]! - a[i + w - 1]!;
  const gy = a[i + w - 1]! + 2 * a[i + w]! + a[i + w + 1]! - a[i - w - 1]! - 2 * a[i - w]! - a[i - w + 1]!;
  return gain * (Math.abs(gx) + Math.abs(gy));
}

/**
 * Mean edge strength along a component's outline (its pixels with a 4-neighbour outside it), in the current
 * frame and in the empty-scene background. An object put down adds an outline the background did not have;
 * the "ghost" a removed object leaves behind (or a walker caught in the background seed) is the reverse:
 * the outline is in the background and not in the frame. Outline pixels on the frame border are skipped.
 */
export function outlineEdges(
  c: Component,
  order: Int32Array,
  labels: Int32Array,
  label: number,
  w: number,
  h: number,
  frame: ArrayLike<number>,
  gain: number,
  background: ArrayLike<number>,
): { now: number; background: number; pixels: number } {
  let now = 0;
  let bg = 0;
  let k = 0;
  for (let j = c.start; j < c.start + c.count; j++) {
    const i = order[j]!;
    const x = i % w;
    const y = (i - x) / w;
    if (x === 0 || y === 0 || x === w - 1 || y === h - 1) continue;
    if (labels[i - 1] === label && labels[i + 1] === label && labels[i - w] === label && labels[i + w] === label) continue;
    now += sobel(frame, i, w, gain);
    bg += sobel(background, i, w);
    k++;
  }
  return k ? { now: now / k, background: bg / k, pixels: k } : { now: 0, background: 0, pixels: 0 };
}

/**
 * How the frame relates to the background in and around a component: over the pixels of its box (plus a
 * 3-pixel margin) that changed by more than `minChange` and belong to no other component, their normalised
 * cross-correlation, both standard deviations, and the share changed in the majority direction (darker or
 * brighter, after mapping the frame's levels by gain and offset). A shadow or a patch of sunlight darkens or
 * brightens everything under it and keeps the pavement's texture (correlation near 1, one direction); an
 * object replaces the texture with its own. Counting the changed pixels around the component too matters for
 * shadows on textured ground: only the texture's bright spots cross the change threshold, so the component
 * alone is a few specks.
 */
export function textureCorrelation(
  c: Component,
  label: number,
  labels: Int32Array,
  w: number,
  h: number,
  frame: ArrayLike<number>,
  background: ArrayLike<number>,
  gain: number,
  offset: number,
  minChange: number,
): { ncc: number; sdFrame: number; sdBackground: number; oneWay: number; pixels: number } {
  let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0, darker = 0, n = 0;
  for (let y = Math.max(0, c.y1 - 3); y <= Math.min(h - 1, c.y2 + 3); y++) {
    for (let x = Math.max(0, c.x1 - 3); x <= Math.min(w - 1, c.x2 + 3); x++) {
      const i = y * w + x;
      if (labels[i] !== 0 && labels[i] !== label) continue;
      const a = frame[i]!;
      const b = background[i]!;
      const d = a * gain + offset - b;
      if (d <= minChange && d >= -minChange) continue;
      n++;
      sa += a;
      sb += b;
      saa += a * a;
      sbb += b * b;
      sab += a * b;
      if (d < 0) darker++;
    }
  }
  if (n === 0) return { ncc: 0, sdFrame: 0, sdBackground: 0, oneWay: 0, pixels: 0 };
  const va = Math.max(0, saa / n - (sa / n) ** 2);
  const vb = Math.max(0, sbb / n - (sb / n) ** 2);
  const cov = sab / n - (sa / n) * (sb / n);
  return {
    ncc: va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : 0,
    sdFrame: Math.sqrt(va),
    sdBackground: Math.sqrt(vb),
    oneWay: Math.max(darker, n - darker) / n,
    pixels: n,
  };
}


/** A static region followed from frame to frame. */
export interface RegionTrack {
  readonly id: number;
  readonly box: Box;
  /** Frame-clock ms since which the object has been there. */
  readonly sinceMs: number;
}

/**
 * Follows regions across frames so each keeps an id and its earliest arrival time. A walker crossing in
 * front of a box resets some of its pixels and may split or shrink its region for a moment; the region
 * still inherits the arrival time of every track it substantially overlaps, so the dwell the rules count
 * does not restart. Ids go to the best IoU match (≥ `minIou`), one track per region.
 */
export function trackRegions(
  previous: readonly RegionTrack[],
  found: readonly { box: Box; sinceMs: number }[],
  nextId: number,
  minIou = 0.3,
): { tracks: RegionTrack[]; nextId: number } {
  const pairs: { f: number; p: number; v: number }[] = [];
  for (let f = 0; f < found.length; f++) {
    for (let p = 0; p < previous.length; p++) {
      const v = iou(found[f]!.box, previous[p]!.box);
      if (v >= minIou) pairs.push({ f, p, v });
    }
  }
  pairs.sort((a, b) => b.v - a.v);
  const idOf = new Map<number, number>();
  const taken = new Set<number>();
  for (const { f, p } of pairs) {
    if (idOf.has(f) || taken.has(p)) continue;
    idOf.set(f, previous[p]!.id);
    taken.add(p);
  }
  const tracks = found.map((r, f) => {
    let since = r.sinceMs;
    for (const t of previous) if (overlapOfSmaller(r.box, t.box) >= 0.5) since = Math.min(since, t.sinceMs);
    const id = idOf.get(f) ?? nextId++;
    return { id, box: r.box, sinceMs: since };
  });
  return { tracks, nextId };
}
