import { describe, expect, it } from 'vitest';
import { DEFAULT_PARAMS, initialState, step, toGrey, type GreyFrame, type Region } from '../../../../detectors/static-change/model.js';

// Synthetic 80×45 grey scenes: a textured background, an object (a bright 10×8 block) that appears, stays,
// leaves; a moving blob; a global brightness step. Time is an argument, so 1 fps and 2 fps must agree.
const W = 80;
const H = 45;

function scene(t: number, opts: { object?: [number, number]; walker?: boolean; brightness?: number }): GreyFrame {
  const data = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = 60 + ((x * 7 + y * 13) % 40) + (opts.brightness ?? 0);
  const [a, b] = opts.object ?? [Infinity, -Infinity];
  if (t >= a && t < b) for (let y = 30; y < 38; y++) for (let x = 50; x < 60; x++) data[y * W + x] = 220;
  if (opts.walker) {
    const x0 = Math.floor((t * 6) % (W - 6));
    for (let y = 10; y < 30; y++) for (let x = x0; x < x0 + 5; x++) data[y * W + x] = 10;
  }
  return { width: W, height: H, data };
}

/** Runs the model from t=0 to `until` s at `fps`; returns the regions seen at each time. */
function run(fps: number, until: number, opts: Parameters<typeof scene>[1]): { t: number; regions: Region[] }[] {
  const s = initialState(scene(0, opts), 0);
  const out: { t: number; regions: Region[] }[] = [];
  for (let k = 1; k <= until * fps; k++) {
    const t = k / fps;
    out.push({ t, regions: step(s, scene(t, opts), t * 1000, DEFAULT_PARAMS) });
  }
  return out;
}
const firstSeen = (r: ReturnType<typeof run>) => r.find((x) => x.regions.length > 0)?.t;
const lastSeen = (r: ReturnType<typeof run>) => [...r].reverse().find((x) => x.regions.length > 0)?.t;

describe('static-change model', () => {
  it('reports an object that appears and stays, after minStaticSec, at its place', () => {
    const r = run(2, 40, { object: [8, 100] });
    const t = firstSeen(r)!;
    expect(t - 8).toBeGreaterThanOrEqual(DEFAULT_PARAMS.minStaticSec);
    // plus the few seconds the short-term background takes to absorb it (shortTauSec)
    expect(t - 8).toBeLessThanOrEqual(DEFAULT_PARAMS.minStaticSec + 5);
    const box = r.at(-1)!.regions[0]!.box;
    expect(box[0]).toBeCloseTo(50 / W, 1);
    expect(box[1]).toBeCloseTo(30 / H, 1);
    expect(box[2]).toBeCloseTo(60 / W, 1);
    expect(box[3]).toBeCloseTo(38 / H, 1);
    expect(r.at(-1)!.regions.length).toBe(1);
  });

  it('does not report an object that stays less than minStaticSec', () => {
    expect(firstSeen(run(2, 40, { object: [8, 15] }))).toBeUndefined();
  });

  it('stops reporting a removed object within a bounded time', () => {
    const r = run(2, 60, { object: [5, 35] });
    expect(firstSeen(r)).toBeDefined();
    const gone = lastSeen(r)!;
    expect(gone).toBeGreaterThanOrEqual(35);
    expect(gone - 35).toBeLessThanOrEqual((DEFAULT_PARAMS.maxCounterSec - DEFAULT_PARAMS.minStaticSec) / 2 + 1);
  });

  it('never reports a moving person', () => {
    expect(firstSeen(run(2, 60, { walker: true }))).toBeUndefined();
  });

  it('does not report a global brightness change', () => {
    const s = initialState(scene(0, {}), 0);
    let seen = 0;
    for (let k = 1; k <= 80; k++) {
      const t = k / 2;
      seen += step(s, scene(t, { brightness: t > 10 ? 40 : 0 }), t * 1000).length;
    }
    expect(seen).toBe(0);
  });

  it('is frame-rate independent: 1 fps and 2 fps report within a second of each other', () => {
    const a = firstSeen(run(1, 40, { object: [8, 100] }))!;
    const b = firstSeen(run(2, 40, { object: [8, 100] }))!;
    expect(Math.abs(a - b)).toBeLessThanOrEqual(1);
  });

  it('downsamples rgb24 to grey by block averages', () => {
    const rgb = new Uint8Array(4 * 2 * 3);
    for (let i = 0; i < 8; i++) rgb.set(i < 2 || (i >= 4 && i < 6) ? [255, 255, 255] : [0, 0, 0], i * 3);
    const g = toGrey(rgb, 4, 2, 2);
    expect(g.width).toBe(2);
    expect(g.height).toBe(1);
    expect(g.data[0]).toBeGreaterThan(250);
    expect(g.data[1]).toBe(0);
  });
});
