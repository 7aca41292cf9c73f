import { describe, expect, it } from 'vitest';
import { CandidateBuffer, iou, nmsClassAware } from '../../../../detectors/onnx/nms.js';

type Row = readonly [number, number, number, number, number, number];
const cand = (rows: readonly Row[]) => {
  const c = new CandidateBuffer();
  for (const r of rows) c.push(...r);
  return c;
};
const kept = (c: CandidateBuffer, iouT: number, minScore?: Float32Array) => [...c.keep.subarray(0, nmsClassAware(c, iouT, minScore))];

describe('iou', () => {
  it.each([
    [[0, 0, 10, 10], [0, 0, 10, 10], 1],
    [[0, 0, 10, 10], [5, 0, 15, 10], 50 / 150],
    [[0, 0, 10, 10], [10, 0, 20, 10], 0],
    [[0, 0, 10, 10], [2, 2, 4, 4], 4 / 100],
  ])('%j vs %j', (a, b, want) => {
    expect(iou(Float32Array.from([...a, ...b]), 0, 1)).toBeCloseTo(want);
  });
});

describe('nmsClassAware', () => {
  it.each<[string, Row[], number[]]>([
    ['overlapping, same class: keeps the best', [[0, 0, 10, 10, 0.8, 0], [1, 1, 11, 11, 0.9, 0]], [1]],
    ['overlapping, different classes: keeps both', [[0, 0, 10, 10, 0.9, 0], [1, 1, 11, 11, 0.8, 1]], [0, 1]],
    ['apart: keeps both, best first', [[0, 0, 10, 10, 0.5, 0], [20, 20, 30, 30, 0.8, 0]], [1, 0]],
    ['overlap under the IoU threshold: keeps both', [[0, 0, 10, 10, 0.9, 0], [6, 0, 16, 10, 0.8, 0]], [0, 1]],
    ['a suppressed box suppresses nothing', [[0, 0, 10, 10, 0.9, 0], [3, 0, 13, 10, 0.8, 0], [6, 0, 16, 10, 0.7, 0]], [0, 2]],
    ['two classes, each with its own duplicates', [[0, 0, 10, 10, 0.9, 0], [0, 0, 10, 10, 0.85, 1], [1, 0, 11, 10, 0.8, 0], [1, 0, 11, 10, 0.95, 1]], [3, 0]],
    ['none', [], []],
  ])('%s', (_name, rows, want) => {
    expect(kept(cand(rows), 0.45)).toEqual(want);
  });

  it('applies per-class score thresholds before suppressing', () => {
    const rows: Row[] = [
      [0, 0, 10, 10, 0.35, 0], // class 0 needs 0.4: dropped, so it cannot suppress the next
      [1, 1, 11, 11, 0.3, 0],
      [0, 0, 10, 10, 0.25, 1], // class 1 needs 0.2: kept
      [50, 50, 60, 60, 0.5, 0],
    ];
    expect(kept(cand(rows), 0.45, Float32Array.from([0.4, 0.2]))).toEqual([3, 2]);
    expect(kept(cand(rows), 0.45, Float32Array.from([0.3, 0.3]))).toEqual([3, 0]);
    expect(kept(cand(rows), 0.45)).toEqual([3, 0, 2]);
  });

  it('sorts many candidates (comparator path) and grows past its first capacity', () => {
    const c = new CandidateBuffer();
    for (let i = 0; i < 1000; i++) c.push(i * 20, 0, i * 20 + 10, 10, (i % 97) / 100, 0);
    const k = kept(c, 0.45);
    expect(k.length).toBe(1000);
    const scores = k.map((i) => c.scores[i]!);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it('reuses the buffer across frames', () => {
    const c = cand([[0, 0, 10, 10, 0.9, 0]]);
    expect(kept(c, 0.45)).toEqual([0]);
    c.reset();
    c.push(0, 0, 10, 10, 0.5, 2);
    c.push(1, 1, 10, 10, 0.6, 2);
    expect(kept(c, 0.45)).toEqual([1]);
  });
});
