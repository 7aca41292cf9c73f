import type { AnalyticsRow } from '../dispatcher/incidents/store.js';

/**
 * Hotspot analytics (高发时段、高发区域、高发路段、高发问题类别) as pure functions of the store's rows, so the
 * grouping is tested with tables and the store stays a store. Hours are the site time zone's.
 */

export interface Analytics {
  from: number;
  to: number;
  total: number;
  timezone: string;
  byHourType: { hours: number[]; series: { type: string; counts: number[] }[] };
  byType: { type: string; count: number }[];
  byZone: { cameraId: string; zoneId: string; name: string; count: number }[];
  byStreet: { street: string; count: number }[];
  bySubject: { subject: string; name: string; count: number }[];
}

export interface PlaceNames {
  /** The zone's display name ('<camera name> · <zone name>' or its ids). */
  zone(cameraId: string, zoneId: string): string;
  /** The street or area of a camera (its location.jurisdiction, else its address), or undefined. */
  street(cameraId: string): string | undefined;
}

export const TOP_N = 20;

/**
 * Hour of day (0–23) of `ms` in `timeZone`. Formatting is the expensive part, and every offset in use is a
 * whole number of minutes… of at least 15: so the answer is cached per UTC quarter-hour (a month of incidents
 * needs ~3,000 formats, not one per incident).
 */
export function hourOfDay(timeZone: string): (ms: number) => number {
  const fmt = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', hour: '2-digit' });
  const cache = new Map<number, number>();
  return (ms) => {
    const q = Math.floor(ms / 900_000);
    let h = cache.get(q);
    if (h === undefined) {
      h = Number(fmt.format(new Date(q * 900_000))) % 24;
      cache.set(q, h);
    }
    return h;
  };
}

/** The n largest, ties in key order (stable output for the same data). */
function top<T extends { count: number }>(m: Map<string, T>, n = TOP_N): T[] {
  return [...m.entries()]
    .sort(([ka, a], [kb, b]) => b.count - a.count || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .slice(0, n)
    .map(([, v]) => v);
}

function bump<T extends { count: number }>(m: Map<string, T>, key: string, make: () => Omit<T, 'count'>): void {
  const cur = m.get(key);
  if (cur) cur.count++;
  else m.set(key, { ...make(), count: 1 } as T);
}

/** A subject's display name: the shop's name, else the place. */
function subjectName(r: AnalyticsRow, names: PlaceNames): string {
  if (r.shopName) return r.shopName;
  if (r.subject.startsWith('zone:')) return names.zone(r.cameraId, r.zoneId);
  return r.subject.replace(/^[a-z]+:/, '');
}

export function analytics(rows: readonly AnalyticsRow[], o: { from: number; to: number; timezone: string; types: readonly string[]; names: PlaceNames }): Analytics {
  const hour = hourOfDay(o.timezone);
  const types = [...new Set([...o.types, ...rows.map((r) => r.type)])];
  const perType = new Map(types.map((t) => [t, new Array<number>(24).fill(0)]));
  const byType = new Map(types.map((t) => [t, { type: t, count: 0 }]));
  const byZone = new Map<string, Analytics['byZone'][number]>();
  const byStreet = new Map<string, Analytics['byStreet'][number]>();
  const bySubject = new Map<string, Analytics['bySubject'][number]>();
  for (const r of rows) {
    perType.get(r.type)![hour(r.confirmedMs)]!++;
    byType.get(r.type)!.count++;
    bump(byZone, `${r.cameraId}\u0000${r.zoneId}`, () => ({ cameraId: r.cameraId, zoneId: r.zoneId, name: o.names.zone(r.cameraId, r.zoneId) }));
    const street = o.names.street(r.cameraId);
    if (street) bump(byStreet, street, () => ({ street }));
    bump(bySubject, r.subject, () => ({ subject: r.subject, name: subjectName(r, o.names) }));
  }
  return {
    from: o.from,
    to: o.to,
    total: rows.length,
    timezone: o.timezone,
    byHourType: { hours: [...Array(24).keys()], series: types.map((type) => ({ type, counts: perType.get(type)! })) },
    byType: [...byType.values()],
    byZone: top(byZone),
    byStreet: top(byStreet),
    bySubject: top(bySubject),
  };
}
