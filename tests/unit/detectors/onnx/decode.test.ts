import { describe, expect, it } from 'vitest';
import { decodePicodet, decodeYolov8, decodeYolox } from '../../../../detectors/onnx/decode.js';
import { yoloxRows } from '../../../../detectors/onnx/manifest.js';
import { CandidateBuffer } from '../../../../detectors/onnx/nms.js';

const rowsOf = (c: CandidateBuffer) =>
  Array.from({ length: c.count }, (_, i) => ({ box: [...c.boxes.subarray(i * 4, i * 4 + 4)].map((v) => Math.round(v * 100) / 100), score: Math.round(c.scores[i]! * 1000) / 1000, cls: c.classes[i] }));

describe('decodeYolox', () => {
  const classes = 3;
  const W = 64; // levels: 8×8 (stride 8), 4×4 (16), 2×2 (32)
  const strides = [8, 16, 32];
  const rows = yoloxRows(W, W, strides);
  const empty = () => new Float32Array(rows * (5 + classes));
  const put = (out: Float32Array, row: number, values: number[], base = 0) => out.set(values, base + row * (5 + classes));

  it('has 84 rows on a 64×64 input (64 + 16 + 4), as the 416 model has 3549 (2704 + 676 + 169)', () => {
    expect(rows).toBe(84);
    expect(yoloxRows(416, 416, strides)).toBe(3549);
  });

  it('decodes rows on each level with its grid cell and stride', () => {
    const out = empty();
    // stride 8, cell (gx 3, gy 5): row 5·8 + 3
    put(out, 43, [0, 0, 0, 0, 0.9, 0.8, 0.1, 0.1]);
    // stride 16, cell (gx 2, gy 1): row 64 + 1·4 + 2
    put(out, 70, [0.5, 0.5, Math.log(2), 0, 0.9, 0.1, 0.8, 0.2]);
    // stride 32, cell (gx 1, gy 1): row 64 + 16 + 1·2 + 1
    put(out, 83, [0.25, 0.75, 0, Math.log(0.5), 0.6, 0, 0, 1]);
    const c = new CandidateBuffer();
    decodeYolox(out, 0, W, W, strides, classes, Float32Array.from([0.3, 0.3, 0.3]), 0.3, c);
    expect(rowsOf(c)).toEqual([
      // cx = 3·8 = 24, cy = 40, w = h = e^0·8
      { box: [20, 36, 28, 44], score: 0.72, cls: 0 },
      // cx = (0.5+2)·16 = 40, cy = (0.5+1)·16 = 24, w = 2·16 = 32, h = 16
      { box: [24, 16, 56, 32], score: 0.72, cls: 1 },
      // cx = 1.25·32 = 40, cy = 1.75·32 = 56, w = 32, h = 16
      { box: [24, 48, 56, 64], score: 0.6, cls: 2 },
    ]);
  });

  it('scores obj · best class and applies the per-class threshold of the best class', () => {
    const out = empty();
    put(out, 0, [0, 0, 0, 0, 0.5, 0.9, 0.2, 0]); // 0.45, class 0
    put(out, 1, [0, 0, 0, 0, 0.5, 0.1, 0.7, 0]); // 0.35, class 1
    put(out, 2, [0, 0, 0, 0, 0.2, 1, 0, 0]); // 0.2: objectness under every threshold
    const c = new CandidateBuffer();
    decodeYolox(out, 0, W, W, strides, classes, Float32Array.from([0.5, 0.3, 0.3]), 0.3, c);
    expect(rowsOf(c).map((r) => [r.score, r.cls])).toEqual([[0.35, 1]]);
    c.reset();
    // a class the caller does not want (Infinity) is dropped, not replaced by the runner-up class
    decodeYolox(out, 0, W, W, strides, classes, Float32Array.from([0.1, Infinity, 0.1]), 0.1, c);
    expect(rowsOf(c).map((r) => [r.score, r.cls])).toEqual([[0.45, 0], [0.2, 0]]);
  });

  it('reads the second image of a batch from its offset', () => {
    const out = new Float32Array(2 * rows * (5 + classes));
    put(out, 0, [0, 0, 0, 0, 0.9, 0.9, 0, 0], rows * (5 + classes));
    const c = new CandidateBuffer();
    decodeYolox(out, 0, W, W, strides, classes, Float32Array.from([0.3, 0.3, 0.3]), 0.3, c);
    expect(c.count).toBe(0);
    decodeYolox(out, rows * (5 + classes), W, W, strides, classes, Float32Array.from([0.3, 0.3, 0.3]), 0.3, c);
    expect(rowsOf(c)).toEqual([{ box: [-4, -4, 4, 4], score: 0.81, cls: 0 }]);
  });
});

describe('decodeYolov8', () => {
  it('reads channel-major [4 + classes, anchors] with no objectness', () => {
    const anchors = 5;
    const classes = 2;
    const out = new Float32Array((4 + classes) * anchors);
    const set = (ch: number, i: number, v: number) => (out[ch * anchors + i] = v);
    // anchor 1: cx 100, cy 50, w 20, h 40, class 1 at 0.8
    [100, 50, 20, 40].forEach((v, ch) => set(ch, 1, v));
    set(4, 1, 0.3);
    set(5, 1, 0.8);
    // anchor 3: class 0 at 0.2, under its threshold
    [10, 10, 4, 4].forEach((v, ch) => set(ch, 3, v));
    set(4, 3, 0.2);
    const c = new CandidateBuffer();
    decodeYolov8(out, 0, anchors, classes, Float32Array.from([0.25, 0.25]), 0.25, c, new Float32Array(anchors), new Int32Array(anchors));
    expect(rowsOf(c)).toEqual([{ box: [90, 30, 110, 70], score: 0.8, cls: 1 }]);
    c.reset();
    decodeYolov8(out, 0, anchors, classes, Float32Array.from([0.1, 0.9]), 0.1, c, new Float32Array(anchors), new Int32Array(anchors));
    expect(rowsOf(c)).toEqual([{ box: [8, 8, 12, 12], score: 0.2, cls: 0 }]);
  });
});

describe('decodePicodet', () => {
  it('reads (class, score, x1, y1, x2, y2) rows, skips padding rows and low scores, stops at the row bound', () => {
    const out = Float32Array.from([
      0, 0.9, 10, 20, 30, 40,
      -1, 0, 0, 0, 0, 0,
      25, 0.35, 1, 2, 3, 4,
      2, 0.2, 5, 5, 6, 6,
      0, 0.99, 7, 7, 8, 8, // beyond the bound
    ]);
    const minScore = new Float32Array(80).fill(0.4);
    minScore[25] = 0.3;
    const c = new CandidateBuffer();
    decodePicodet(out, 0, 4, minScore, c);
    expect(rowsOf(c)).toEqual([
      { box: [10, 20, 30, 40], score: 0.9, cls: 0 },
      { box: [1, 2, 3, 4], score: 0.35, cls: 25 },
    ]);
    c.reset();
    decodePicodet(out, 3, 2, minScore, c);
    expect(rowsOf(c).map((r) => r.cls)).toEqual([0]);
  });
});
