import { describe, expect, it } from 'vitest';
import { segmentStartMs, segmentsToPrune, type RingSegment } from '../../../pipeline/ring.js';

const seg = (name: string, endMs: number): RingSegment => ({ file: name, startMs: segmentStartMs(name)!, endMs, bytes: 1 });

describe('segment ring', () => {
  it('parses local start times from segment names', () => {
    expect(segmentStartMs('20261126T233432.ts')).toBe(new Date(2026, 10, 26, 23, 34, 32).getTime());
    expect(segmentStartMs('other.ts')).toBeUndefined();
    expect(segmentStartMs('20261126T233432.ts.tmp')).toBeUndefined();
  });

  it('prunes segments that ended before the window and never the newest', () => {
    const t0 = new Date(2026, 10, 26, 12, 0, 0).getTime();
    const segs = [seg('20261126T120000.ts', t0 + 2000), seg('20261126T120002.ts', t0 + 4000), seg('20261126T120004.ts', t0 + 6000)];
    expect(segmentsToPrune(segs, t0 + 5000, 60_000)).toEqual([]);
    expect(segmentsToPrune(segs, t0 + 63_000, 60_000).map((s) => s.file)).toEqual(['20261126T120000.ts']);
    expect(segmentsToPrune(segs, t0 + 1e9, 60_000).map((s) => s.file)).toEqual(['20261126T120000.ts', '20261126T120002.ts']);
    expect(segmentsToPrune([segs[0]!], t0 + 1e9, 1)).toEqual([]);
  });
});
