import { describe, expect, it } from 'vitest';
import { analytics, hourOfDay, type PlaceNames } from '../../../console/analytics.js';
import { planXY } from '../../../console/views.js';
import type { AnalyticsRow } from '../../../dispatcher/incidents/store.js';

const at = (iso: string) => Date.parse(iso);
const names: PlaceNames = { zone: (c, z) => `${c}/${z}`, street: (c) => (c === 'cam-x' ? undefined : `street of ${c}`) };
const row = (type: string, iso: string, over: Partial<AnalyticsRow> = {}): AnalyticsRow => ({ type, cameraId: 'cam-a', zoneId: 'z1', subject: 'zone:cam-a/z1', confirmedMs: at(iso), ...over });

describe('hotspot analytics', () => {
  it('counts by hour of day in the site time zone', () => {
    expect(hourOfDay('Asia/Shanghai')(at('2026-06-01T23:30:00+08:00'))).toBe(23);
    expect(hourOfDay('Asia/Shanghai')(at('2026-06-01T16:00:00Z'))).toBe(0);
    expect(hourOfDay('UTC')(at('2026-06-01T00:59:59+08:00'))).toBe(16);
  });

  it('groups by hour × type, type, zone, street and subject', () => {
    const rows = [
      row('stall', '2026-06-01T18:10:00+08:00'),
      row('stall', '2026-06-02T18:50:00+08:00'),
      row('stall', '2026-06-02T07:00:00+08:00', { cameraId: 'cam-b', subject: 'site:market' }),
      row('door_front', '2026-06-02T10:00:00+08:00', { zoneId: 'z2', subject: 'shop:s1', shopName: '老王水果店' }),
      row('door_front', '2026-06-03T10:20:00+08:00', { zoneId: 'z2', subject: 'shop:s1', shopName: '老王水果店' }),
      row('stacking', '2026-06-03T10:20:00+08:00', { cameraId: 'cam-x', subject: 'zone:cam-x/z9', zoneId: 'z9' }),
    ];
    const a = analytics(rows, { from: 0, to: 1, timezone: 'Asia/Shanghai', types: ['stall', 'door_front', 'stacking'], names });
    expect(a.total).toBe(6);
    const series = Object.fromEntries(a.byHourType.series.map((s) => [s.type, s.counts]));
    expect(series.stall![18]).toBe(2);
    expect(series.stall![7]).toBe(1);
    expect(series.door_front![10]).toBe(2);
    expect(series.stacking![10]).toBe(1);
    expect(a.byHourType.hours).toHaveLength(24);
    expect(a.byType).toEqual([{ type: 'stall', count: 3 }, { type: 'door_front', count: 2 }, { type: 'stacking', count: 1 }]);
    expect(a.byZone[0]).toEqual({ cameraId: 'cam-a', zoneId: 'z1', name: 'cam-a/z1', count: 2 });
    expect(a.byStreet).toEqual([{ street: 'street of cam-a', count: 4 }, { street: 'street of cam-b', count: 1 }]); // cam-x has no street
    expect(a.bySubject).toHaveLength(4);
    expect(a.bySubject).toContainEqual({ subject: 'zone:cam-a/z1', name: 'cam-a/z1', count: 2 });
    expect(a.bySubject).toContainEqual({ subject: 'shop:s1', name: '老王水果店', count: 2 });
    expect(a.bySubject).toContainEqual({ subject: 'site:market', name: 'market', count: 1 });
  });

  it('lists every type with zero counts when nothing happened', () => {
    const a = analytics([], { from: 0, to: 1, timezone: 'Asia/Shanghai', types: ['stall', 'door_front', 'stacking'], names });
    expect(a.total).toBe(0);
    expect(a.byType.map((t) => t.count)).toEqual([0, 0, 0]);
    expect(a.byHourType.series.every((s) => s.counts.every((n) => n === 0))).toBe(true);
  });

  it('keeps the top 20 places', () => {
    const rows = Array.from({ length: 30 }, (_, i) => Array.from({ length: i + 1 }, () => row('stall', '2026-06-01T10:00:00+08:00', { zoneId: `z${i}`, subject: `zone:cam-a/z${i}` }))).flat();
    const a = analytics(rows, { from: 0, to: 1, timezone: 'Asia/Shanghai', types: ['stall'], names });
    expect(a.byZone).toHaveLength(20);
    expect(a.byZone[0]).toMatchObject({ zoneId: 'z29', count: 30 });
  });
});

describe('plan placement', () => {
  it.each([
    [31.24, 121.46, 0, 0],
    [31.22, 121.49, 1, 1],
    [31.23, 121.475, 0.5, 0.5],
  ])('(%f, %f) → (%f, %f)', (lat, lon, x, y) => {
    const p = planXY({ west: 121.46, south: 31.22, east: 121.49, north: 31.24 }, lat, lon);
    expect(p.x).toBeCloseTo(x, 9);
    expect(p.y).toBeCloseTo(y, 9);
  });
});
