import { describe, expect, it } from 'vitest';
import { greySize, medianLevel, toGrey, type GreyFrame } from '../../../../detectors/static-change/grey.js';
import { DEFAULT_PARAMS, initialState, step, type Region, type StaticParams, type StaticState } from '../../../../detectors/static-change/model.js';
import { iou } from '../../../../core/box.js';
import { cleanMask, components, trackRegions } from '../../../../detectors/static-change/regions.js';

// Synthetic 160×90 grey scenes (the detector's default working size): a textured pavement with a flat slab
// where the object goes (so its contrast is one known value), ±2 levels of sensor noise, and whatever the
// table row adds: an object that appears and leaves, walkers, a brightness change, a shadow, a camera shift.
const W = 160;
const H = 90;
const OBJ = { x: 100, y: 60, w: 12, h: 10, value: 210 };
const SLAB = 80;
const CONTRAST = OBJ.value - SLAB;
const P = DEFAULT_PARAMS;

interface Scene {
  object?: { appear: number; leave: number };
  walkers?: { speed: number; y: number; value: number }[];
  /** Brightness: grey level → grey level, at time t. */
  light?: (t: number, v: number) => number;
  shadow?: { from: number; factor: number };
  /** The camera turns: the picture shifts by dx pixels from this time. */
  shift?: { at: number; dx: number };
  /** A person who walks in and stops. */
  stops?: { at: number; x: number };
}

function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pavement(x: number, y: number): number {
  if (x >= OBJ.x - 4 && x < OBJ.x + OBJ.w + 4 && y >= OBJ.y - 4 && y < OBJ.y + OBJ.h + 4) return SLAB;
  // strong texture (30..170): brightness mapping errors and camera turns show up on it
  return 100 + 70 * Math.sin(x * 0.7) * Math.sin(y * 0.5);
}

function render(sc: Scene, t: number, rand: () => number): GreyFrame {
  const data = new Uint8Array(W * H);
  const dx = sc.shift && t >= sc.shift.at ? sc.shift.dx : 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = pavement(x + dx, y);
      if (sc.object && t >= sc.object.appear && t < sc.object.leave && x >= OBJ.x && x < OBJ.x + OBJ.w && y >= OBJ.y && y < OBJ.y + OBJ.h) v = OBJ.value;
      if (sc.shadow && t >= sc.shadow.from && x >= 20 && x < 50 && y >= 20 && y < 45) v *= sc.shadow.factor;
      for (const wk of sc.walkers ?? []) {
        const x0 = Math.floor((t * wk.speed) % (W + 10)) - 5;
        if (x >= x0 && x < x0 + 5 && y >= wk.y && y < wk.y + 14) v = wk.value;
      }
      if (sc.stops) {
        const start = sc.stops.at - sc.stops.x / 4;
        const x0 = Math.min(sc.stops.x, Math.floor((t - start) * 4));
        if (t >= start && x >= x0 && x < x0 + 5 && y >= 20 && y < 34) v = 235;
      }
      if (sc.light) v = sc.light(t, v);
      data[y * W + x] = Math.max(0, Math.min(255, Math.round(v + (rand() * 5 - 2.5))));
    }
  }
  return { width: W, height: H, data };
}

interface Seen {
  t: number;
  regions: Region[];
  state: StaticState;
}

/** Runs the model on the scene from t = 0 to `until` s at `fps`; what it reported at each frame. */
function run(sc: Scene, fps: number, until: number, p: StaticParams = P): Seen[] {
  const rand = rng(7);
  let state = initialState(render(sc, 0, rand), 0);
  const out: Seen[] = [];
  for (let k = 1; k <= Math.round(until * fps); k++) {
    const t = k / fps;
    const r = step(state, render(sc, t, rand), (k * 1000) / fps, p);
    state = r.state;
    out.push({ t, regions: r.regions, state });
  }
  return out;
}
const firstSeen = (r: Seen[]) => r.find((x) => x.regions.length > 0)?.t;
const lastSeen = (r: Seen[]) => r.findLast((x) => x.regions.length > 0)?.t;
const objBox: [number, number, number, number] = [OBJ.x / W, OBJ.y / H, (OBJ.x + OBJ.w) / W, (OBJ.y + OBJ.h) / H];

/**
 * When the model should first report an object of contrast `d` that appears at `appear` (seen from the first
 * frame at or after it): the short-term background closes the gap by (1 − shortRate) per second until the
 * pixel no longer differs from it, then the static counter needs minStaticSec (the first static frame
 * counts its own interval).
 */
function expectedReport(appear: number, fps: number, d = CONTRAST, p = P): number {
  const dt = 1 / fps;
  const ta = Math.ceil(appear * fps - 1e-9) / fps;
  let k = 0;
  while (d * Math.pow(1 - p.shortRate, k * dt) > p.diffThreshold) k++;
  return ta + k * dt + p.minStaticSec - dt;
}

describe('static-change model: an object that appears and stays', () => {
  it.each([
    { fps: 1, appear: 8 },
    { fps: 2, appear: 8 },
    { fps: 2, appear: 11.3 },
    { fps: 4, appear: 8 },
    { fps: 0.5, appear: 9 },
  ])('at $fps fps, appearing at $appear s: reported after minStaticSec (±1 frame), at its box', ({ fps, appear }) => {
    const r = run({ object: { appear, leave: 1e9 } }, fps, 45);
    const t = firstSeen(r)!;
    expect(t).toBeDefined();
    expect(Math.abs(t - expectedReport(appear, fps))).toBeLessThanOrEqual(1 / fps + 1e-6);
    expect(t - appear).toBeGreaterThanOrEqual(P.minStaticSec);
    // from then on, one region, on the object, to the pixel
    for (const x of r.filter((x) => x.t > t)) {
      expect(x.regions.length, `at ${x.t}s`).toBe(1);
      const b = x.regions[0]!.box;
      expect(Math.abs(b[0] - objBox[0]) * W).toBeLessThanOrEqual(1);
      expect(Math.abs(b[1] - objBox[1]) * H).toBeLessThanOrEqual(1);
      expect(Math.abs(b[2] - objBox[2]) * W).toBeLessThanOrEqual(1);
      expect(Math.abs(b[3] - objBox[3]) * H).toBeLessThanOrEqual(1);
    }
    const last = r.at(-1)!.regions[0]!;
    // sinceMs says when it arrived (give or take the few seconds the short-term background took), not when
    // it was first reported; it keeps its id and its score grows with the time it stood there
    expect(last.sinceMs / 1000).toBeGreaterThanOrEqual(appear - 1e-6);
    expect(last.sinceMs / 1000).toBeLessThanOrEqual(appear + 5);
    expect(last.staticSec).toBeCloseTo(r.at(-1)!.t - last.sinceMs / 1000, 6);
    expect(new Set(r.filter((x) => x.t > t).map((x) => x.regions[0]!.id)).size).toBe(1);
    expect(last.score).toBeGreaterThan(0.9);
    expect(r.find((x) => x.regions.length)!.regions[0]!.score).toBeGreaterThanOrEqual(0.5);
  });

  it.each([3, 5, 9.5])('an object that stays %s s (< minStaticSec) is never reported', (stay) => {
    for (const fps of [1, 2]) expect(firstSeen(run({ object: { appear: 8, leave: 8 + stay } }, fps, 40))).toBeUndefined();
  });

  it.each([15, 30, 120])('an object removed after %s s stops being reported within (maxCounterSec − minStaticSec) / 2 s', (stay) => {
    const leave = 6 + stay;
    const r = run({ object: { appear: 6, leave } }, 2, leave + 30);
    expect(firstSeen(r)).toBeDefined();
    const gone = lastSeen(r)!;
    expect(gone).toBeGreaterThanOrEqual(leave - 0.5);
    // the bound is the same however long it stood there: the counter is capped
    expect(gone - leave).toBeLessThanOrEqual((P.maxCounterSec - P.minStaticSec) / 2 + 0.5);
    for (const x of r.filter((x) => x.t > gone)) expect(x.regions).toEqual([]);
    expect(Math.max(...r.at(-1)!.state.counter)).toBe(0);
  });

  it('the counter never exceeds maxCounterSec', () => {
    const r = run({ object: { appear: 6, leave: 1e9 } }, 2, 60);
    expect(Math.max(...r.at(-1)!.state.counter)).toBe(P.maxCounterSec);
  });

  it('a smaller maxCounterSec drops a removed object sooner', () => {
    const p = { ...P, maxCounterSec: P.minStaticSec + 1 };
    const r = run({ object: { appear: 6, leave: 40 } }, 2, 60, p);
    expect(lastSeen(r)! - 40).toBeLessThanOrEqual(0.5 + 0.5);
  });

  it('an object already there while the background is seeded is part of the scene', () => {
    expect(firstSeen(run({ object: { appear: 0, leave: 1e9 } }, 2, 40))).toBeUndefined();
  });

  it('absorbs an object into the scene after absorbSec, then reports a new one at the same place again', () => {
    const p = { ...P, absorbSec: 40 };
    const r = run({ object: { appear: 6, leave: 1e9 } }, 2, 70, p);
    expect(firstSeen(r)).toBeDefined();
    expect(lastSeen(r)!).toBeLessThan(6 + 40 + 5);
    expect(r.filter((x) => x.t > 6 + 40 + 5).every((x) => x.regions.length === 0)).toBe(true);
  });
});

describe('static-change model: what is not an object', () => {
  it.each([
    { speed: 1, fps: 2 },
    { speed: 3, fps: 2 },
    { speed: 8, fps: 2 },
    { speed: 20, fps: 2 },
    { speed: 3, fps: 1 },
    { speed: 8, fps: 0.5 },
  ])('a walker at $speed px/s, seen at $fps fps, is never reported', ({ speed, fps }) => {
    expect(firstSeen(run({ walkers: [{ speed, y: 20, value: 20 }, { speed: speed * 1.7, y: 50, value: 200 }] }, fps, 120))).toBeUndefined();
  });

  it('walkers crossing in front of a reported object do not end it', () => {
    const r = run({ object: { appear: 6, leave: 1e9 }, walkers: [{ speed: 8, y: 58, value: 20 }] }, 2, 60);
    const t = firstSeen(r)!;
    expect(t).toBeDefined();
    const after = r.filter((x) => x.t > t);
    // a walker passing over it may shrink the region for a frame or two, never for long
    expect(after.filter((x) => x.regions.some((g) => iou(g.box, objBox) >= 0.5)).length).toBeGreaterThanOrEqual(after.length - 4);
    expect(after.flatMap((x) => x.regions).every((g) => iou(g.box, objBox) > 0)).toBe(true);
  });

  it.each([
    { name: '+40 levels at once', light: (t: number, v: number) => (t > 10 ? v + 40 : v) },
    { name: '×1.6 at once', light: (t: number, v: number) => (t > 10 ? v * 1.6 : v) },
    { name: '−35 % at once', light: (t: number, v: number) => (t > 10 ? v * 0.65 : v) },
    { name: 'a slow dusk, −50 % over 40 s', light: (t: number, v: number) => v * (1 - 0.5 * Math.min(1, Math.max(0, t - 10) / 40)) },
    { name: 'flicker every other second', light: (t: number, v: number) => (Math.floor(t) % 2 ? v * 1.3 : v) },
  ])('a global brightness change ($name) is not an object and does not re-seed', ({ light }) => {
    const r = run({ light }, 2, 70);
    expect(firstSeen(r)).toBeUndefined();
    expect(r.at(-1)!.state.reseeds).toBe(0);
  });

  it('still finds an object that arrives after the lights changed', () => {
    const r = run({ light: (t, v) => (t > 10 ? v * 1.4 : v), object: { appear: 20, leave: 1e9 } }, 2, 50);
    const t = firstSeen(r)!;
    expect(t).toBeDefined();
    expect(t - 20).toBeGreaterThanOrEqual(P.minStaticSec);
    expect(t - 20).toBeLessThanOrEqual(P.minStaticSec + 5);
  });

  it('a camera that turns re-seeds the background instead of reporting the whole picture', () => {
    const r = run({ shift: { at: 20, dx: 4 }, object: { appear: 40, leave: 1e9 } }, 2, 70);
    expect(r.at(-1)!.state.reseeds).toBe(1);
    expect(r.filter((x) => x.t < 40).every((x) => x.regions.length === 0)).toBe(true);
    // the new view becomes the scene, and an object put down later is found in it
    expect(firstSeen(r)! - 40).toBeGreaterThanOrEqual(P.minStaticSec);
  });

  it('the ghost a removed object leaves is absorbed, not reported; a new object there is found again', () => {
    // there during seeding, removed at 20 s, put back at 40 s
    const r = run({ object: { appear: 0, leave: 20 } }, 2, 39);
    expect(firstSeen(r)).toBeUndefined();
    const back = run({ object: { appear: 0, leave: 20 } }, 2, 39);
    let state = back.at(-1)!.state;
    const rand = rng(99);
    const seen: number[] = [];
    for (let k = 79; k <= 140; k++) {
      const t = k / 2;
      const res = step(state, render({ object: { appear: 40, leave: 1e9 } }, t, rand), t * 1000);
      state = res.state;
      if (res.regions.some((g) => iou(g.box, objBox) >= 0.5)) seen.push(t);
    }
    expect(seen[0]! - 40).toBeGreaterThanOrEqual(P.minStaticSec);
    expect(seen[0]! - 40).toBeLessThanOrEqual(P.minStaticSec + 5);
  });

  it('a shadow that falls and stays is a change of light, not an object', () => {
    const r = run({ shadow: { from: 10, factor: 0.55 } }, 2, 60);
    expect(firstSeen(r)).toBeUndefined();
  });

  it('with the shadow test off, that shadow would be reported (the test is what keeps it out)', () => {
    const r = run({ shadow: { from: 10, factor: 0.55 } }, 2, 60, { ...P, lightingCorrelation: 1 });
    expect(firstSeen(r)).toBeDefined();
  });

  it('a person who walks in and stands still IS a static change (the rules tell people from goods)', () => {
    const r = run({ stops: { at: 12, x: 60 } }, 2, 40);
    const t = firstSeen(r)!;
    expect(t - 12).toBeGreaterThanOrEqual(P.minStaticSec);
    expect(t - 12).toBeLessThanOrEqual(P.minStaticSec + 5);
    const b = r.at(-1)!.regions[0]!.box;
    expect(b[0] * W).toBeCloseTo(60, -0.5);
    expect(b[1] * H).toBeCloseTo(20, -0.5);
  });
});

describe('static-change model: time, not frames', () => {
  it('reports at the same time and with the same arrival at 1, 2 and 4 fps (within a second)', () => {
    const at = [1, 2, 4].map((fps) => {
      const r = run({ object: { appear: 8, leave: 1e9 } }, fps, 40);
      return { first: firstSeen(r)!, since: r.at(-1)!.regions[0]!.sinceMs };
    });
    for (const x of at) {
      expect(Math.abs(x.first - at[0]!.first)).toBeLessThanOrEqual(1);
      expect(Math.abs(x.since - at[0]!.since)).toBeLessThanOrEqual(1000);
    }
  });

  it('irregular frame times (0.3–1.7 s apart) give the same answer as a steady 2 fps', () => {
    const rand = rng(3);
    const sc: Scene = { object: { appear: 8, leave: 1e9 } };
    let state = initialState(render(sc, 0, rand), 0);
    let t = 0;
    let first: number | undefined;
    const gap = rng(11);
    while (t < 40) {
      t += 0.3 + 1.4 * gap();
      const r = step(state, render(sc, t, rand), t * 1000);
      state = r.state;
      if (first === undefined && r.regions.length) first = t;
    }
    expect(Math.abs(first! - firstSeen(run(sc, 2, 40))!)).toBeLessThanOrEqual(1.7);
  });

  it('a long gap in the frames counts as at most maxGapSec of seen-still time', () => {
    const rand = rng(5);
    const sc: Scene = { object: { appear: 8, leave: 1e9 } };
    let state = initialState(render(sc, 0, rand), 0);
    for (let k = 1; k <= 20; k++) state = step(state, render(sc, k / 2, rand), k * 500).state;
    // frames stop at 10 s and resume at 70 s: the object was seen twice, two seconds apart
    const r1 = step(state, render(sc, 10.5, rand), 10_500);
    const r2 = step(r1.state, render(sc, 70, rand), 70_000);
    expect(r2.regions).toEqual([]);
    expect(Math.max(...r2.state.counter)).toBeLessThanOrEqual(P.maxGapSec + 0.5);
  });
});

describe('static-change model: a pure reducer', () => {
  it('never writes into the state it is given; the same input gives the same output', () => {
    const rand = rng(1);
    const sc: Scene = { object: { appear: 6, leave: 1e9 }, walkers: [{ speed: 5, y: 30, value: 30 }] };
    const frames = Array.from({ length: 60 }, (_, k) => render(sc, k / 2, rand));
    let state = initialState(frames[0]!, 0);
    for (let k = 1; k < 40; k++) state = step(state, frames[k]!, k * 500).state;
    const copy = structuredClone(state);
    const a = step(state, frames[40]!, 40 * 500);
    const b = step(state, frames[40]!, 40 * 500);
    expect(state).toEqual(copy);
    expect(a.regions).toEqual(b.regions);
    expect(a.state).toEqual(b.state);
  });

  it('reusing a spare state gives the same results as allocating', () => {
    const rand = rng(2);
    const sc: Scene = { object: { appear: 6, leave: 30 }, walkers: [{ speed: 5, y: 30, value: 30 }] };
    const frames = Array.from({ length: 80 }, (_, k) => render(sc, k / 2, rand));
    let plain = initialState(frames[0]!, 0);
    let recycled = initialState(frames[0]!, 0);
    let spare: StaticState | undefined;
    for (let k = 1; k < 80; k++) {
      const a = step(plain, frames[k]!, k * 500);
      const b = step(recycled, frames[k]!, k * 500, P, spare);
      expect(b.regions).toEqual(a.regions);
      plain = a.state;
      spare = recycled;
      recycled = b.state;
    }
    expect(recycled).toEqual(plain);
  });

  it('rejects a frame of another size', () => {
    const s = initialState({ width: 4, height: 4, data: new Uint8Array(16) }, 0);
    expect(() => step(s, { width: 4, height: 3, data: new Uint8Array(12) }, 500)).toThrow(/4×3/);
  });
});

describe('grey downsampling', () => {
  it.each([
    { src: [640, 360], width: 160, out: [160, 90] },
    { src: [640, 360], width: 320, out: [320, 180] },
    { src: [1920, 1080], width: 160, out: [160, 90] },
    { src: [704, 576], width: 160, out: [160, 131] },
    { src: [100, 50], width: 160, out: [100, 50] },
  ])('$src at width $width → $out', ({ src, width, out }) => {
    expect(greySize(src[0]!, src[1]!, width)).toEqual({ width: out[0], height: out[1] });
  });

  it('averages whole blocks (integer ratio) with BT.601 weights', () => {
    // 4×2 → 2×1: left block white, right block pure red
    const rgb = new Uint8Array(4 * 2 * 3);
    for (let i = 0; i < 8; i++) rgb.set((i % 4) < 2 ? [255, 255, 255] : [255, 0, 0], i * 3);
    const g = toGrey(rgb, 4, 2, 2);
    expect([g.width, g.height]).toEqual([2, 1]);
    expect(g.data[0]).toBe(255);
    expect(g.data[1]).toBe(Math.floor((77 * 255) / 256));
  });

  it('averages blocks of a non-integer ratio too', () => {
    // 5×1 → 2×1: blocks are columns [0,1] and [2,3,4]
    const rgb = Uint8Array.from([10, 10, 10, 30, 30, 30, 100, 100, 100, 100, 100, 100, 130, 130, 130]);
    const g = toGrey(rgb, 5, 1, 2);
    expect(g.data[0]).toBe(20);
    expect(g.data[1]).toBe(110);
  });

  it('reuses the output buffer when the size fits', () => {
    const rgb = new Uint8Array(8 * 4 * 3).fill(50);
    const a = toGrey(rgb, 8, 4, 4);
    expect(toGrey(rgb, 8, 4, 4, a)).toBe(a);
    expect(toGrey(rgb, 8, 4, 2, a)).not.toBe(a);
  });

  it('median level', () => {
    expect(medianLevel(Uint8Array.from([5, 1, 200, 3, 4]))).toBe(4);
    expect(medianLevel(Float32Array.from([10.4, 10.6, 250]))).toBe(11);
  });
});

describe('regions', () => {
  function mask(rows: string[]): { m: Uint8Array; w: number; h: number } {
    const w = rows[0]!.length;
    return { m: Uint8Array.from(rows.join('').split(''), (c) => (c === '#' ? 1 : 0)), w, h: rows.length };
  }

  it('clean-up removes specks and slivers, keeps and fills solid blobs, and components are 8-connected', () => {
    const { m, w, h } = mask([
      '................',
      '.#..............',
      '.....########...',
      '.....########...',
      '..#..###.####...',
      '.....########...',
      '.....########...',
      '................',
      '.###########....',
      '................',
    ]);
    const a = new Uint8Array(w * h);
    const b = new Uint8Array(w * h);
    cleanMask(m, a, b, w, h);
    const labels = new Int32Array(w * h);
    const order = new Int32Array(w * h);
    const cs = components(m, w, h, labels, order);
    expect(cs.length).toBe(1);
    expect(cs[0]).toMatchObject({ x1: 5, y1: 2, x2: 12, y2: 6, count: 40 });
  });

  it('components: diagonal neighbours join, separate blobs do not; each lists its pixels', () => {
    const { m, w, h } = mask(['#....', '.#..#', '....#']);
    const labels = new Int32Array(w * h);
    const order = new Int32Array(w * h);
    const cs = components(m, w, h, labels, order);
    expect(cs.map((c) => c.count)).toEqual([2, 2]);
    expect([...order.subarray(cs[1]!.start, cs[1]!.start + 2)].sort((x, y) => x - y)).toEqual([9, 14]);
  });

  it('tracking keeps ids by overlap and the earliest arrival across a split', () => {
    const first = trackRegions([], [{ box: [0.1, 0.1, 0.3, 0.3], sinceMs: 1000 }], 1);
    expect(first.tracks).toEqual([{ id: 1, box: [0.1, 0.1, 0.3, 0.3], sinceMs: 1000 }]);
    // a walker splits it in two: both halves keep the arrival time, the larger keeps the id
    const split = trackRegions(first.tracks, [{ box: [0.1, 0.1, 0.25, 0.3], sinceMs: 9000 }, { box: [0.27, 0.1, 0.3, 0.3], sinceMs: 9000 }], first.nextId);
    expect(split.tracks.map((t) => [t.id, t.sinceMs])).toEqual([[1, 1000], [2, 1000]]);
    // something elsewhere is new
    const other = trackRegions(split.tracks, [{ box: [0.6, 0.6, 0.7, 0.7], sinceMs: 20_000 }], split.nextId);
    expect(other.tracks).toEqual([{ id: 3, box: [0.6, 0.6, 0.7, 0.7], sinceMs: 20_000 }]);
  });
});
