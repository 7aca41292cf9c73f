import { describe, expect, it } from 'vitest';
import { isoInZone, localTime } from '../../../core/time.js';

// 2026-11-27 is a Friday; 10:00 in Shanghai = 02:00 UTC
const at = (day: number, hh: number, mm = 0) => Date.UTC(2026, 10, day, hh - 8, mm);

describe('localTime', () => {
  it.each<[string, number, string, { weekday: number; minutes: number }]>([
    ['a Friday morning in Shanghai', at(27, 10, 30), 'Asia/Shanghai', { weekday: 5, minutes: 630 }],
    ['the last minute of a Sunday', at(29, 23, 59), 'Asia/Shanghai', { weekday: 7, minutes: 1439 }],
    ['midnight starts Monday at 0', at(30, 0, 0), 'Asia/Shanghai', { weekday: 1, minutes: 0 }],
    ['the same instant in UTC is still Friday 02:30', at(27, 10, 30), 'UTC', { weekday: 5, minutes: 150 }],
  ])('%s', (_what, t, tz, want) => {
    expect(localTime(t, tz)).toEqual(want);
  });

  it('shares its formatter with isoInZone without changing what isoInZone prints', () => {
    localTime(at(27, 10), 'Asia/Shanghai');
    expect(isoInZone(at(27, 10, 30) + 123, 'Asia/Shanghai')).toBe('2026-11-27T10:30:00.123+08:00');
  });
});
