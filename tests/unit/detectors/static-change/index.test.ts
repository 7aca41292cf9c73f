import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../../core/log.js';
import type { Frame } from '../../../../core/types.js';
import type { Detection, DetectorInstance } from '../../../../detectors/contract.js';
import staticObject, { paramsFrom, staticObjectOptions } from '../../../../detectors/static-change/index.js';
import { parseDetectorOptions, validateDefinition } from '../../../../detectors/registry.js';

// The detector around the model: options, per-camera state, restarts, the contract's details. Frames are
// synthetic rgb24 at 320×180 (the detector works at 160×90): a textured street with a box put down at 6 s.
const FW = 320;
const FH = 180;
const BOX = { x: 200, y: 120, w: 24, h: 20 };

function frame(cameraId: string, tSec: number, opts: { box?: boolean; width?: number; height?: number; seq?: number } = {}): Frame {
  const w = opts.width ?? FW;
  const h = opts.height ?? FH;
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = 100 + 60 * Math.sin(x * 0.35) * Math.sin(y * 0.25);
      if (opts.box && x >= BOX.x && x < BOX.x + BOX.w && y >= BOX.y && y < BOX.y + BOX.h) v = 235;
      const o = (y * w + x) * 3;
      data[o] = data[o + 1] = data[o + 2] = Math.round(v);
    }
  }
  return { cameraId, seq: opts.seq ?? Math.round(tSec * 2), ptsSec: tSec, wallMs: 1_790_000_000_000 + tSec * 1000, width: w, height: h, format: 'rgb24', data };
}

async function make(options: Record<string, unknown> = {}): Promise<DetectorInstance> {
  return staticObject.create(parseDetectorOptions(staticObject, options, 'test'), { log: createLogger({ level: 'error' }), resolveAsset: (n) => n, threads: 1 });
}

const signal = () => new AbortController().signal;

/** Feeds one camera's frames at 2 fps from 0 to `until` s; returns the detections per time. */
async function feed(inst: DetectorInstance, cam: string, until: number, boxFrom = 6): Promise<{ t: number; d: Detection[] }[]> {
  const out: { t: number; d: Detection[] }[] = [];
  for (let k = 0; k <= until * 2; k++) {
    const t = k / 2;
    const [d] = await inst.detect([frame(cam, t, { box: t >= boxFrom })], signal());
    out.push({ t, d: d! });
  }
  return out;
}

describe('static-object detector', () => {
  it('has a valid manifest: one label mapped to static_object, batches of 16', () => {
    expect(() => validateDefinition(staticObject, 'static-object')).not.toThrow();
    expect(staticObject.manifest.labels).toEqual(['static_object']);
    expect(staticObject.manifest.labelMap).toEqual({ static_object: 'static_object' });
    expect(staticObject.manifest.maxBatch).toBe(16);
  });

  it('options: defaults, strictness, and the cross-checks', () => {
    const o = staticObjectOptions.parse({});
    expect(o).toMatchObject({ width: 160, diffThreshold: 25, longRate: 0.01, shortRate: 0.36, minStaticSec: 10, warmupSec: 4 });
    expect(paramsFrom(o).maxCounterSec).toBe(16);
    expect(paramsFrom(staticObjectOptions.parse({ minStaticSec: 30 })).maxCounterSec).toBe(36);
    expect(paramsFrom(staticObjectOptions.parse({ maxCounterSec: 12 })).maxCounterSec).toBe(12);
    for (const bad of [{ nope: 1 }, { minArea: 0.3, maxArea: 0.2 }, { maxCounterSec: 10 }, { longRate: 1 }, { shortRate: 0 }, { width: 8 }, { absorbSec: 5 }]) {
      expect(() => parseDetectorOptions(staticObject, bad, 'camera cam-1'), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'DETECTOR_OPTIONS_INVALID' }));
    }
  });

  it('reports a box put down and left, after minStaticSec, where it is, with when it arrived', async () => {
    const inst = await make();
    const r = await feed(inst, 'cam', 30);
    const first = r.find((x) => x.d.length)!;
    expect(first.t - 6).toBeGreaterThanOrEqual(10);
    expect(first.t - 6).toBeLessThanOrEqual(15);
    expect(r.filter((x) => x.t < first.t).every((x) => x.d.length === 0)).toBe(true);
    const d = r.at(-1)!.d;
    expect(d.length).toBe(1);
    expect(d[0]).toMatchObject({ label: 'static_object', semantic: 'static_object' });
    const [x1, y1, x2, y2] = d[0]!.box;
    expect(x1 * FW).toBeCloseTo(BOX.x, -1);
    expect(y1 * FH).toBeCloseTo(BOX.y, -1);
    expect(x2 * FW).toBeCloseTo(BOX.x + BOX.w, -1);
    expect(y2 * FH).toBeCloseTo(BOX.y + BOX.h, -1);
    expect(d[0]!.score).toBeGreaterThanOrEqual(0.5);
    expect(d[0]!.score).toBeLessThanOrEqual(1);
    // arrival in frame-clock time: within the few seconds the short-term background took to settle
    const arrived = (d[0]!.sinceMs! - frame('cam', 0).wallMs) / 1000;
    expect(arrived).toBeGreaterThanOrEqual(6);
    expect(arrived).toBeLessThanOrEqual(10);
    await inst.close();
  });

  it('options change the behaviour: minStaticSec 5 reports about 5 s sooner', async () => {
    const slow = (await feed(await make(), 'cam', 30)).find((x) => x.d.length)!.t;
    const fast = (await feed(await make({ minStaticSec: 5 }), 'cam', 30)).find((x) => x.d.length)!.t;
    expect(slow - fast).toBeGreaterThanOrEqual(4.5);
    expect(slow - fast).toBeLessThanOrEqual(5.5);
  });

  it('keeps state per camera: one batch with frames of two cameras gives what each gives alone', async () => {
    const alone = await feed(await make(), 'a', 25);
    const inst = await make();
    const mixed: { a: Detection[]; b: Detection[] }[] = [];
    for (let k = 0; k <= 50; k++) {
      const t = k / 2;
      const [a, b] = await inst.detect([frame('a', t, { box: t >= 6 }), frame('b', t)], signal());
      mixed.push({ a: a!, b: b! });
    }
    expect(mixed.map((x) => x.a)).toEqual(alone.map((x) => x.d));
    expect(mixed.every((x) => x.b.length === 0)).toBe(true);
    expect(alone.at(-1)!.d.length).toBe(1);
  });

  it('forgetCamera starts that camera afresh: what is there then is the scene', async () => {
    const inst = await make();
    const r = await feed(inst, 'cam', 25);
    expect(r.at(-1)!.d.length).toBe(1);
    inst.forgetCamera!('cam');
    for (let k = 51; k <= 100; k++) {
      const [d] = await inst.detect([frame('cam', k / 2, { box: true })], signal());
      expect(d).toEqual([]);
    }
  });

  it('a frame whose time goes backwards, or of another shape, starts the camera afresh', async () => {
    const inst = await make();
    await feed(inst, 'cam', 25);
    const [back] = await inst.detect([frame('cam', 1, { box: true })], signal());
    expect(back).toEqual([]);
    const [next] = await inst.detect([frame('cam', 1.5, { box: true })], signal());
    expect(next).toEqual([]);

    const inst2 = await make();
    await feed(inst2, 'cam', 25);
    const [resized] = await inst2.detect([frame('cam', 25.5, { box: true, width: 320, height: 240 })], signal());
    expect(resized).toEqual([]);
  });

  it('rejects a frame whose buffer does not match its size, naming the camera', async () => {
    const inst = await make();
    const f = { ...frame('cam-7', 0), data: Buffer.alloc(100) };
    await expect(inst.detect([f], signal())).rejects.toMatchObject({ code: 'IMAGE_INVALID', message: expect.stringContaining('cam-7') });
  });

  it('stops on an aborted signal, and refuses work once closed (close is idempotent)', async () => {
    const inst = await make();
    const ac = new AbortController();
    ac.abort();
    await expect(inst.detect([frame('cam', 0)], ac.signal)).rejects.toMatchObject({ code: 'DETECTOR_TIMEOUT' });
    await inst.close();
    await inst.close();
    await expect(inst.detect([frame('cam', 0)], signal())).rejects.toMatchObject({ code: 'STOPPED' });
  });
});
