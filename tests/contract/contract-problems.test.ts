import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DETECTOR_API, defineDetector } from '../../detectors/contract.js';
import { contractProblems, oxfordFrames } from './detector-contract.js';

// tests/contract travels with a plug-in (`new-detector` scaffolds into a copy holding only detectors/, core/,
// models/ and tests/contract/), so nothing here imports tests/helpers.

// The suite is only as good as its checks: each rule it enforces must catch a result that breaks it.
const def = defineDetector({
  manifest: {
    id: 'probe', version: '1.0.0', api: `^${DETECTOR_API}`, labels: ['crate', 'toothbrush'], labelMap: { crate: 'goods', toothbrush: null },
    input: { width: 8, height: 8, pixelFormat: 'rgb24' }, maxBatch: 4, options: z.strictObject({}),
  },
  create: () => ({ detect: async (b) => b.map(() => []), close: async () => {} }),
});
const ok = { box: [0.1, 0.2, 0.3, 0.4], score: 0.5, label: 'crate' };

describe('contractProblems', () => {
  it('finds nothing wrong with a valid result, including a null-mapped label and edge boxes', () => {
    expect(contractProblems(def, [[ok, { ...ok, label: 'toothbrush' }], [{ ...ok, box: [0, 0, 1, 1], semantic: 'goods', sinceMs: 5 }]], 2)).toEqual([]);
  });

  it.each([
    ['a wrong number of lists', [[ok]], 2, /1 result lists for 2 frames/],
    ['a non-array result', { lists: [] }, 1, /not an array of lists/],
    ['a non-array list', [null], 1, /frame 0: result is object/],
    ['a box beyond 1', [[{ ...ok, box: [0.1, 0.2, 1.01, 0.4] }]], 1, /not within 0\.\.1/],
    ['a negative box', [[{ ...ok, box: [-0.01, 0.2, 0.3, 0.4] }]], 1, /not within 0\.\.1/],
    ['x1 = x2', [[{ ...ok, box: [0.3, 0.2, 0.3, 0.4] }]], 1, /x1 < x2/],
    ['y1 > y2', [[{ ...ok, box: [0.1, 0.5, 0.3, 0.4] }]], 1, /y1 < y2/],
    ['a three-number box', [[{ ...ok, box: [0.1, 0.2, 0.3] }]], 1, /four finite numbers/],
    ['a NaN coordinate', [[{ ...ok, box: [0.1, Number.NaN, 0.3, 0.4] }]], 1, /four finite numbers/],
    ['a score above 1', [[{ ...ok, score: 1.2 }]], 1, /score/],
    ['a missing score', [[{ box: ok.box, label: 'crate' }]], 1, /score/],
    ['an unknown label', [[{ ...ok, label: 'spaceship' }]], 1, /not in manifest.labels/],
    ['a semantic label unknown to the rules', [[{ ...ok, semantic: 'merchandise' }]], 1, /semantic label is not one of/],
    ['a semantic label other than labelMap says', [[{ ...ok, semantic: 'person' }]], 1, /differs from labelMap/],
    ['a non-finite sinceMs', [[{ ...ok, sinceMs: Number.POSITIVE_INFINITY }]], 1, /sinceMs/],
  ])('catches %s', (_name, lists, frames, message) => {
    const problems = contractProblems(def, lists, frames);
    expect(problems.join('\n')).toMatch(message);
  });
});

describe('oxfordFrames', () => {
  it('decodes four distinct 640×360 rgb24 frames of the real video', async () => {
    const frames = await oxfordFrames();
    expect(frames).toHaveLength(4);
    for (const f of frames) expect([f.width, f.height, f.data.length, f.format]).toEqual([640, 360, 640 * 360 * 3, 'rgb24']);
    expect(new Set(frames.map((f) => f.data.toString('base64', 0, 1 << 16))).size).toBe(4);
    // A real street picture, not a blank: mid-range brightness with plenty of variation.
    const px = frames[0]!.data;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < px.length; i += 7) {
      sum += px[i]!;
      sq += px[i]! * px[i]!;
    }
    const n = Math.ceil(px.length / 7);
    const mean = sum / n;
    expect(mean).toBeGreaterThan(40);
    expect(mean).toBeLessThan(220);
    expect(Math.sqrt(sq / n - mean * mean)).toBeGreaterThan(20);
  });
});
