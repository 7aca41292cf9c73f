import { describe, expect, it } from 'vitest';
import type { Frame } from '../../../../core/types.js';
import { decodeYolox } from '../../../../detectors/onnx/decode.js';
import { CandidateBuffer, nmsClassAware } from '../../../../detectors/onnx/nms.js';
import { placement, Preprocessor, toNormX, toNormY, type InputSpec } from '../../../../detectors/onnx/preprocess.js';

const spec = (over: Partial<InputSpec>): InputSpec => ({
  tensor: 'images', shape: [1, 3, 8, 8], width: 8, height: 8, resize: 'letterbox-topleft', colour: 'RGB', scale: 1, mean: [0, 0, 0], std: [1, 1, 1], pad: 114, ...over,
});
const frame = (w: number, h: number, rgb: [number, number, number]): Frame => {
  const data = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(rgb, i * 3);
  return { cameraId: 'c', seq: 0, ptsSec: 0, wallMs: 0, width: w, height: h, format: 'rgb24', data };
};

describe('placement', () => {
  it.each([
    ['letterbox-topleft', 640, 360, { rx: 0.0125, padX: 0, padY: 0, nw: 8, nh: 5 }],
    ['letterbox-centre', 640, 360, { rx: 0.0125, padX: 0, padY: 1, nw: 8, nh: 5 }],
    ['letterbox-centre', 360, 640, { rx: 0.0125, padX: 1, padY: 0, nw: 5, nh: 8 }],
    ['stretch', 640, 360, { rx: 0.0125, ry: 8 / 360, padX: 0, padY: 0, nw: 8, nh: 8 }],
  ] as const)('%s %ix%i', (resize, w, h, want) => {
    expect(placement(w, h, spec({ resize }))).toMatchObject(want);
  });

  it('maps model pixels back to normalised frame coordinates', () => {
    const p = placement(640, 360, spec({ resize: 'letterbox-centre' }));
    expect(toNormX(p, 4)).toBeCloseTo(0.5);
    expect(toNormY(p, 1)).toBeCloseTo(0);
    expect(toNormY(p, 6)).toBeCloseTo(1);
    expect(toNormY(p, 7.5)).toBe(1); // padding clips
  });
});

describe('Preprocessor', () => {
  it('letterboxes top-left in BGR with pad 114 and keeps raw values', () => {
    const pre = new Preprocessor(spec({ colour: 'BGR' }));
    const out = new Float32Array(pre.imageSize);
    pre.write(frame(16, 8, [10, 20, 30]), out);
    const plane = 64;
    // image occupies rows 0..3 (16×8 → 8×4), rows 4..7 are padding
    expect(out[0]).toBeCloseTo(30); // B first
    expect(out[plane]).toBeCloseTo(20);
    expect(out[2 * plane]).toBeCloseTo(10);
    expect(out[3 * 8 + 7]).toBeCloseTo(30);
    expect(out[4 * 8]).toBe(114);
    expect(out[2 * plane + 63]).toBe(114);
  });

  it('applies scale, mean and std per channel and stretches', () => {
    const pre = new Preprocessor(spec({ resize: 'stretch', scale: 1, mean: [100, 50, 0], std: [2, 5, 10] }));
    const out = new Float32Array(pre.imageSize);
    pre.write(frame(3, 5, [110, 60, 20]), out);
    expect(out[0]).toBeCloseTo(5);
    expect(out[64]).toBeCloseTo(2);
    expect(out[128 + 63]).toBeCloseTo(2);
  });

  it('interpolates bilinearly between source pixels', () => {
    const f = frame(2, 1, [0, 0, 0]);
    f.data.set([200, 200, 200], 3);
    const pre = new Preprocessor(spec({ width: 4, height: 1, resize: 'stretch', shape: [1, 3, 1, 4] }));
    const out = new Float32Array(pre.imageSize);
    pre.write(f, out);
    expect([...out.subarray(0, 4)].map(Math.round)).toEqual([0, 50, 150, 200]);
  });
});

describe('nmsClassAware', () => {
  const cand = (rows: [number, number, number, number, number, number][]) => {
    const c = new CandidateBuffer();
    for (const r of rows) c.push(...r);
    return c;
  };
  it.each([
    ['overlapping same class: keeps the best', [[0, 0, 10, 10, 0.9, 0], [1, 1, 11, 11, 0.8, 0]], [0]],
    ['overlapping different classes: keeps both', [[0, 0, 10, 10, 0.9, 0], [1, 1, 11, 11, 0.8, 1]], [0, 1]],
    ['apart: keeps both, best first', [[0, 0, 10, 10, 0.5, 0], [20, 20, 30, 30, 0.8, 0]], [1, 0]],
    ['below the IoU threshold: keeps both', [[0, 0, 10, 10, 0.9, 0], [6, 0, 16, 10, 0.8, 0]], [0, 1]],
  ] as const)('%s', (_name, rows, want) => {
    expect(nmsClassAware(cand(rows as never), 0.45)).toEqual(want);
  });
  it('grows past its initial capacity', () => {
    const c = new CandidateBuffer();
    for (let i = 0; i < 1000; i++) c.push(i * 20, 0, i * 20 + 10, 10, 0.5, 0);
    expect(nmsClassAware(c, 0.45).length).toBe(1000);
  });
});

describe('decodeYolox', () => {
  it('decodes a hand-built output row on the stride-16 grid', () => {
    const classes = 3;
    const W = 64;
    const rows = (W / 8) ** 2 + (W / 16) ** 2 + (W / 32) ** 2;
    const out = new Float32Array(rows * (5 + classes));
    // stride 16 level starts after the 8×8 stride-8 grid; cell (gx=2, gy=1)
    const row = 64 + 1 * 4 + 2;
    out.set([0.5, 0.5, Math.log(2), Math.log(1), 0.9, 0.1, 0.8, 0.2], row * 8);
    const c = new CandidateBuffer();
    decodeYolox(out, W, W, classes, Float32Array.from([0.3, 0.3, 0.3]), 0.3, c);
    expect(c.count).toBe(1);
    // cx = (0.5+2)·16 = 40, cy = (0.5+1)·16 = 24, w = 2·16 = 32, h = 16
    expect([...c.boxes.subarray(0, 4)]).toEqual([24, 16, 56, 32]);
    expect(c.scores[0]).toBeCloseTo(0.72);
    expect(c.classes[0]).toBe(1);
  });
});
