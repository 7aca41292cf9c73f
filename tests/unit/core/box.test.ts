import { describe, expect, it } from 'vitest';
import { area, coverage, gap, iou, overlapOfSmaller, sameSpot, union } from '../../../core/box.js';
import type { Box } from '../../../detectors/contract.js';

const a: Box = [0.1, 0.1, 0.3, 0.3];

describe('box geometry', () => {
  it.each<[string, Box, number, number, number, number]>([
    // name, b, iou(a,b), coverage(a,b), overlapOfSmaller, gap
    ['the same box', a, 1, 1, 1, 0],
    ['a quarter of it overlapping', [0.2, 0.2, 0.4, 0.4], 1 / 7, 0.25, 0.25, 0],
    ['a box inside it', [0.15, 0.15, 0.25, 0.25], 0.25, 0.25, 1, 0],
    ['touching at an edge', [0.3, 0.1, 0.5, 0.3], 0, 0, 0, 0],
    ['apart horizontally', [0.35, 0.1, 0.5, 0.3], 0, 0, 0, 0.05],
    ['apart diagonally (the larger gap counts)', [0.32, 0.4, 0.5, 0.6], 0, 0, 0, 0.1],
  ])('%s', (_name, b, wantIou, wantCover, wantSmaller, wantGap) => {
    expect(iou(a, b)).toBeCloseTo(wantIou, 6);
    expect(iou(b, a)).toBeCloseTo(wantIou, 6);
    expect(coverage(a, b)).toBeCloseTo(wantCover, 6);
    expect(overlapOfSmaller(a, b)).toBeCloseTo(wantSmaller, 6);
    expect(gap(a, b)).toBeCloseTo(wantGap, 6);
    expect(gap(b, a)).toBeCloseTo(wantGap, 6);
  });

  it('coverage is one-sided; union holds both; area', () => {
    const small: Box = [0.15, 0.15, 0.25, 0.25];
    expect(coverage(small, a)).toBe(1);
    expect(coverage(a, small)).toBeCloseTo(0.25, 6);
    expect(union(a, [0.2, 0.05, 0.4, 0.2])).toEqual([0.1, 0.05, 0.4, 0.3]);
    expect(area(a)).toBeCloseTo(0.04, 9);
  });

  it.each<[string, [number, number, number, number], number, boolean]>([
    ['overlapping by a fifth', [0.28, 0.1, 0.5, 0.3], 0.25, true],
    ['a piece 0.045 below (the 0.05 floor)', [0.15, 0.345, 0.2, 0.4], 0.25, true],
    ['0.1 apart, small boxes', [0.4, 0.1, 0.5, 0.3], 0.25, false],
    ['0.1 apart, a stall spreads (1.5 widths)', [0.4, 0.1, 0.5, 0.3], 1.5, true],
  ])('sameSpot: %s', (_n, b, grow, want) => {
    expect(sameSpot(a, b, grow)).toBe(want);
    expect(sameSpot(b, a, grow)).toBe(want);
  });
});
