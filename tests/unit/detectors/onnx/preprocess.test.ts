import { describe, expect, it } from 'vitest';
import type { Frame } from '../../../../core/types.js';
import { placement, Preprocessor, toNormX, toNormY, type InputSpec } from '../../../../detectors/onnx/preprocess.js';
import { frame } from '../../../helpers/factories.js';

const spec = (over: Partial<InputSpec>): InputSpec => ({
  tensor: 'images', shape: [1, 3, 8, 8], width: 8, height: 8, resize: 'letterbox-topleft', colour: 'RGB', scale: 1, mean: [0, 0, 0], std: [1, 1, 1], pad: 114, ...over,
});
/** A w×h frame of one colour. */
const plain = (w: number, h: number, rgb: [number, number, number]): Frame => frame('c', 0, { width: w, height: h, fill: rgb });
/** Channel c of the 8×8 image in slot 0 as rows of numbers, rounded. */
const rows = (out: Float32Array, c: number, W = 8, H = 8) => Array.from({ length: H }, (_, y) => [...out.subarray(c * W * H + y * W, c * W * H + (y + 1) * W)].map((v) => Math.round(v)));

describe('placement', () => {
  it.each([
    ['letterbox-topleft', 640, 360, { rx: 0.0125, ry: 0.0125, padX: 0, padY: 0, nw: 8, nh: 5 }],
    ['letterbox-centre', 640, 360, { rx: 0.0125, ry: 0.0125, padX: 0, padY: 1, nw: 8, nh: 5 }],
    ['letterbox-centre', 360, 640, { rx: 0.0125, ry: 0.0125, padX: 1, padY: 0, nw: 5, nh: 8 }],
    ['letterbox-topleft', 4, 4, { rx: 2, ry: 2, padX: 0, padY: 0, nw: 8, nh: 8 }],
    ['stretch', 640, 360, { rx: 0.0125, ry: 8 / 360, padX: 0, padY: 0, nw: 8, nh: 8 }],
  ] as const)('%s %ix%i', (resize, w, h, want) => {
    expect(placement(w, h, spec({ resize }))).toMatchObject(want);
  });

  it('matches MODELS.md for YOLOX 416 and YOLOv8 640 on a 640×360 frame', () => {
    // YOLOX: r = min(416/360, 416/640) = 0.65 → 416×234 at the top-left
    expect(placement(640, 360, spec({ width: 416, height: 416 }))).toMatchObject({ nw: 416, nh: 234, padX: 0, padY: 0 });
    // YOLOv8: r = 1 → 640×360, padY = floor((640 − 360) / 2) = 140
    expect(placement(640, 360, spec({ width: 640, height: 640, resize: 'letterbox-centre' }))).toMatchObject({ nw: 640, nh: 360, padX: 0, padY: 140 });
  });

  it('maps model pixels back to normalised frame coordinates, clipping the padding', () => {
    const p = placement(640, 360, spec({ resize: 'letterbox-centre' }));
    expect(toNormX(p, 4)).toBeCloseTo(0.5);
    expect(toNormY(p, 1)).toBeCloseTo(0);
    expect(toNormY(p, 6)).toBeCloseTo(1);
    // the image is 4.5 model pixels tall (r · 360), drawn into 5 rows: mapping uses r, not the rounded size
    expect(toNormY(p, 3.25)).toBeCloseTo(0.5);
    expect(toNormY(p, 7.5)).toBe(1);
    expect(toNormY(p, 0.2)).toBe(0);
    const tl = placement(640, 360, spec({}));
    // top-left: no offset, only the ratio (YOLOX divides by r alone)
    expect(toNormY(tl, 2.25)).toBeCloseTo(0.5);
  });
});

describe('Preprocessor', () => {
  it('letterboxes top-left in BGR with pad 114 and keeps raw values', () => {
    const pre = new Preprocessor(spec({ colour: 'BGR' }));
    const out = new Float32Array(pre.imageSize);
    pre.write(plain(16, 8, [10, 20, 30]), out);
    // 16×8 → 8×4 in rows 0..3, rows 4..7 padding; B, G, R planes
    const want = (v: number) => [...Array(4).fill(Array(8).fill(v)), ...Array(4).fill(Array(8).fill(114))];
    expect(rows(out, 0)).toEqual(want(30));
    expect(rows(out, 1)).toEqual(want(20));
    expect(rows(out, 2)).toEqual(want(10));
  });

  it('centres the letterbox (YOLOv8): equal bands above and below, or left and right', () => {
    const pre = new Preprocessor(spec({ resize: 'letterbox-centre', scale: 1 / 255 }));
    const out = new Float32Array(pre.imageSize);
    pre.write(plain(16, 8, [255, 0, 0]), out);
    const pad = Math.round(114 / 255);
    expect(out[0]).toBeCloseTo(114 / 255);
    expect(rows(out, 0).map((r) => r[0])).toEqual([pad, pad, 1, 1, 1, 1, pad, pad]);
    const tall = new Float32Array(pre.imageSize);
    pre.write(plain(4, 8, [255, 255, 255]), tall);
    expect(rows(tall, 1)[3]).toEqual([pad, pad, 1, 1, 1, 1, pad, pad]);
  });

  it('applies scale, mean and std per channel and stretches (PicoDet)', () => {
    const pre = new Preprocessor(spec({ resize: 'stretch', scale: 1, mean: [100, 50, 0], std: [2, 5, 10] }));
    const out = new Float32Array(pre.imageSize);
    pre.write(plain(3, 5, [110, 60, 20]), out);
    expect(rows(out, 0)).toEqual(Array(8).fill(Array(8).fill(5)));
    expect(rows(out, 1)).toEqual(Array(8).fill(Array(8).fill(2)));
    expect(rows(out, 2)).toEqual(Array(8).fill(Array(8).fill(2)));
  });

  it('interpolates bilinearly with half-pixel centres (as cv2.resize INTER_LINEAR)', () => {
    const up = plain(2, 1, [0, 0, 0]);
    up.data.set([200, 200, 200], 3);
    const pre = new Preprocessor(spec({ width: 4, height: 1, resize: 'stretch', shape: [1, 3, 1, 4] }));
    const out = new Float32Array(pre.imageSize);
    pre.write(up, out);
    expect([...out.subarray(0, 4)].map(Math.round)).toEqual([0, 50, 150, 200]);
    // 4 → 2 samples at source x 0.5 and 2.5: means of the pairs
    const down = plain(4, 1, [0, 0, 0]);
    down.data.set([0, 0, 0, 100, 100, 100, 200, 200, 200, 40, 40, 40]);
    const pre2 = new Preprocessor(spec({ width: 2, height: 1, resize: 'stretch', shape: [1, 3, 1, 2] }));
    const out2 = new Float32Array(pre2.imageSize);
    pre2.write(down, out2);
    expect([...out2.subarray(0, 2)]).toEqual([50, 120]);
  });

  it('writes a frame that needs no resampling (its size is the image area) exactly as the bilinear path would', () => {
    // 8×5 into an 8×8 top-left letterbox: scale 1. A noise frame, so any misplaced or swapped value shows.
    const f = frame('c', 0, { width: 8, height: 5 });
    for (let i = 0; i < f.data.length; i++) f.data[i] = (i * 37 + 11) % 256;
    const s = spec({ colour: 'BGR', scale: 1 / 255, mean: [0.1, 0.2, 0.3], std: [0.5, 0.6, 0.7] });
    const pre = new Preprocessor(s);
    const fast = new Float32Array(pre.imageSize);
    pre.write(f, fast);
    // the reference: the same normalisation, pixel by pixel, straight from the definition
    for (let y = 0; y < 5; y++) {
      for (let x = 0; x < 8; x++) {
        for (let c = 0; c < 3; c++) {
          const v = f.data[(y * 8 + x) * 3 + (2 - c)]!; // BGR: tensor channel 0 is blue
          expect(fast[c * 64 + y * 8 + x]).toBeCloseTo((v / 255 - s.mean[c]!) / s.std[c]!, 5);
        }
      }
    }
    // and the padding below it
    expect(rows(fast, 0).slice(5).flat().every((v) => v === Math.round((114 / 255 - 0.1) / 0.5))).toBe(true);
  });

  it('puts each frame of a batch in its own slot and leaves the others alone', () => {
    const pre = new Preprocessor(spec({ resize: 'stretch' }));
    const out = new Float32Array(pre.imageSize * 2).fill(-1);
    pre.write(plain(4, 4, [7, 8, 9]), out, 1);
    expect(out.subarray(0, pre.imageSize).every((v) => v === -1)).toBe(true);
    expect(rows(out.subarray(pre.imageSize), 2)).toEqual(Array(8).fill(Array(8).fill(9)));
  });

  it('follows a change of frame size (new tables) and refills the padding it no longer covers', () => {
    const pre = new Preprocessor(spec({}));
    const out = new Float32Array(pre.imageSize);
    expect(pre.write(plain(8, 8, [1, 1, 1]), out)).toMatchObject({ nw: 8, nh: 8 });
    const p = pre.write(plain(16, 8, [2, 2, 2]), out);
    expect(p).toMatchObject({ nw: 8, nh: 4, srcW: 16 });
    expect(rows(out, 0).map((r) => r[7])).toEqual([2, 2, 2, 2, 114, 114, 114, 114]);
  });
});
