import { describe, expect, it } from 'vitest';
import { footPoint, inWindows, pointInPolygon, positionInGeofence, zonesAtBox } from '../../../pipeline/zones.js';

const square = [[0.2, 0.2], [0.6, 0.2], [0.6, 0.6], [0.2, 0.6]] as [number, number][];
const concave = [[0, 0], [1, 0], [1, 1], [0.5, 0.4], [0, 1]] as [number, number][];

describe('geometry', () => {
  it.each([
    [[0.4, 0.4], square, true],
    [[0.1, 0.4], square, false],
    [[0.4, 0.7], square, false],
    [[0.5, 0.9], concave, false], // in the notch
    [[0.1, 0.5], concave, true],
  ] as const)('point %j in polygon → %s', (p, poly, want) => {
    expect(pointInPolygon(p, poly)).toBe(want);
  });

  it('uses the foot point of a box (bottom-centre)', () => {
    expect(footPoint([0.3, 0.1, 0.5, 0.5])).toEqual([0.4, 0.5]);
    const zones = [{ id: 'a', polygon: square }, { id: 'b', polygon: concave }, { id: 'c' }];
    // head outside the square, feet inside: it is in
    expect(zonesAtBox(zones, [0.3, 0.05, 0.5, 0.5]).map((z) => z.id)).toEqual(['a', 'b']);
    expect(zonesAtBox(zones, [0.05, 0.3, 0.15, 0.7]).map((z) => z.id)).toEqual(['b']);
    expect(zonesAtBox(zones, [0.3, 0.3, 0.5, 0.7])).toEqual([]); // feet in the concave notch
  });

  it('tests GPS positions against a GeoJSON polygon with a hole', () => {
    const fence = {
      type: 'Polygon' as const,
      coordinates: [
        [[121.47, 31.23], [121.48, 31.23], [121.48, 31.24], [121.47, 31.24], [121.47, 31.23]],
        [[121.474, 31.234], [121.476, 31.234], [121.476, 31.236], [121.474, 31.236], [121.474, 31.234]],
      ],
    };
    expect(positionInGeofence(121.472, 31.232, fence as never)).toBe(true);
    expect(positionInGeofence(121.475, 31.235, fence as never)).toBe(false);
    expect(positionInGeofence(121.49, 31.235, fence as never)).toBe(false);
  });
});

describe('time windows (Asia/Shanghai)', () => {
  // 2026-11-27 is a Friday; 10:00 local = 02:00 UTC
  const at = (day: number, hh: number, mm = 0) => Date.UTC(2026, 10, day, hh - 8, mm);
  it.each([
    ['no windows: always', undefined, at(27, 3), true],
    ['inside a day window', [{ from: '08:00', to: '20:00' }], at(27, 10), true],
    ['end is exclusive', [{ from: '08:00', to: '20:00' }], at(27, 20), false],
    ['before it', [{ from: '08:00', to: '20:00' }], at(27, 7, 59), false],
    ['weekday filter', [{ days: [1, 2, 3, 4], from: '08:00', to: '20:00' }], at(27, 10), false],
    ['night window, evening', [{ from: '18:00', to: '02:00' }], at(27, 23), true],
    ['night window, after midnight', [{ from: '18:00', to: '02:00' }], at(28, 1), true],
    ['night window, morning', [{ from: '18:00', to: '02:00' }], at(28, 3), false],
    ['started Friday, seen Saturday 01:00', [{ days: [5], from: '18:00', to: '02:00' }], at(28, 1), true],
    ['started Thursday? no: Friday 01:00 belongs to Thursday', [{ days: [5], from: '18:00', to: '02:00' }], at(27, 1), false],
    ['to 24:00', [{ from: '22:00', to: '24:00' }], at(27, 23, 59), true],
  ] as const)('%s', (_n, windows, t, want) => {
    expect(inWindows(windows as never, t, 'Asia/Shanghai')).toBe(want);
  });
});
