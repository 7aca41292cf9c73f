import { describe, expect, it } from 'vitest';
import { allCollinear, doubleSignedArea, orientation, segmentsIntersect, selfIntersection, type Point } from '../../../core/polygon.js';

describe('segmentsIntersect', () => {
  it.each<[string, Point, Point, Point, Point, boolean]>([
    ['a proper crossing (an X)', [0, 0], [1, 1], [0, 1], [1, 0], true],
    ['parallel, apart', [0, 0], [1, 0], [0, 1], [1, 1], false],
    ['on one line, apart', [0, 0], [0.4, 0], [0.6, 0], [1, 0], false],
    ['on one line, overlapping', [0, 0], [0.6, 0], [0.4, 0], [1, 0], true],
    ['on one line, one inside the other', [0, 0], [1, 0], [0.2, 0], [0.3, 0], true],
    ['touching end to end', [0, 0], [0.5, 0.5], [0.5, 0.5], [1, 0], true],
    ['an end touching the middle of the other (a T)', [0, 0], [1, 0], [0.5, 0], [0.5, 1], true],
    ['would cross if the first were longer', [0, 0], [0.4, 0.4], [0, 1], [1, 0], false],
    ['crossing lines, segments apart', [0, 0], [0.2, 0], [0.5, -1], [0.5, 1], false],
    ['nearly touching (1e-6 apart)', [0, 0], [1, 0], [0.5, 1e-6], [0.5, 1], false],
    ['zero-length segment on the other', [0.5, 0], [0.5, 0], [0, 0], [1, 0], true],
  ])('%s', (_name, a, b, c, d, want) => {
    expect(segmentsIntersect(a, b, c, d)).toBe(want);
    // the answer does not depend on the order of the segments or of their ends
    expect(segmentsIntersect(c, d, a, b)).toBe(want);
    expect(segmentsIntersect(b, a, d, c)).toBe(want);
  });
});

describe('polygon rings', () => {
  it('orientation: left, right, on the line', () => {
    expect(orientation([0, 0], [1, 0], [0.5, 1])).toBe(1);
    expect(orientation([0, 0], [1, 0], [0.5, -1])).toBe(-1);
    expect(orientation([0, 0], [1, 0], [2, 0])).toBe(0);
  });

  it.each<[string, Point[], number, boolean, [number, number] | undefined]>([
    // name, ring, doubleSignedArea, allCollinear, selfIntersection
    ['a counter-clockwise square', [[0, 0], [1, 0], [1, 1], [0, 1]], 2, false, undefined],
    ['a clockwise square', [[0, 0], [0, 1], [1, 1], [1, 0]], -2, false, undefined],
    ['a concave outline', [[0, 0], [1, 0], [1, 1], [0.5, 0.3], [0, 1]], 1.3, false, undefined],
    ['a symmetric bow-tie: lobes cancel', [[0, 0], [1, 1], [1, 0], [0, 1]], 0, false, [0, 2]],
    ['an asymmetric bow-tie', [[0, 0], [1, 1], [1, 0], [0, 0.8]], -0.2, false, [0, 2]],
    ['points on one line', [[0, 0], [0.3, 0.3], [0.6, 0.6], [1, 1]], 0, true, [1, 3]],
    ['one point repeated', [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]], 0, true, undefined],
  ])('%s', (_name, ring, area, collinear, crossing) => {
    expect(doubleSignedArea(ring)).toBeCloseTo(area, 9);
    expect(allCollinear(ring)).toBe(collinear);
    expect(selfIntersection(ring)).toEqual(crossing);
  });
});
