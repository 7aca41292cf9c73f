import { describe, expect, it } from 'vitest';
import { watchdogLimitMs } from '../../../pipeline/camera.js';

describe('watchdogLimitMs', () => {
  it.each<[string, number, boolean, number]>([
    ['a running decoder: the watchdog time', 8000, true, 8000],
    ['before the first frame: at least 30 s (a large start shares the CPU)', 8000, false, 30_000],
    ['before the first frame with a long watchdog: three times it', 20_000, false, 60_000],
    ['a short watchdog still waits 30 s for the first frame', 500, false, 30_000],
  ])('%s', (_what, watchdogMs, hadFirstFrame, want) => {
    expect(watchdogLimitMs(watchdogMs, hadFirstFrame)).toBe(want);
  });
});
