import { describe, expect, it } from 'vitest';
import { FrameClock } from '../../../pipeline/frame-clock.js';

describe('FrameClock', () => {
  it('anchors a live source at its first frame and reports lag', () => {
    const c = new FrameClock(true);
    expect(c.stamp(10, 1_000_000)).toEqual({ wallMs: 1_000_000, lagMs: 0 });
    expect(c.stamp(12, 1_002_500)).toEqual({ wallMs: 1_002_000, lagMs: 500 });
  });
  it('stamps a recorded file from its start time, ignoring decode speed', () => {
    const c = new FrameClock(false, 5000);
    expect(c.stamp(0, 99)).toEqual({ wallMs: 5000, lagMs: undefined });
    expect(c.stamp(2.5, 100)).toEqual({ wallMs: 7500, lagMs: undefined });
  });
});
