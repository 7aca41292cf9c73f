import { hhmmToMinutes, type TimeWindow, type Zone } from '../config/zones.js';
import type { Box } from '../detectors/contract.js';
import { localTime } from '../core/time.js';

/**
 * Zone geometry and time windows: pure functions the rules are built from. An object is in a zone by the
 * bottom-centre of its box (where it stands on the ground), for image polygons; a vehicle frame is in a
 * geofence by its GPS position.
 */

export type Point = readonly [number, number];

/** Where an object touches the ground: the bottom-centre of its normalised box. */
export function footPoint(box: Box): Point {
  return [(box[0] + box[2]) / 2, box[3]];
}

/** Even-odd ray casting; points exactly on an edge may fall either way (zones are drawn with margin). */
export function pointInPolygon(p: Point, poly: readonly (readonly [number, number])[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Whether a GPS position [lon, lat] is inside a GeoJSON Polygon (outer ring, minus holes). */
export function positionInGeofence(lon: number, lat: number, fence: NonNullable<Zone['geofence']>): boolean {
  const [outer, ...holes] = fence.coordinates;
  const ring = (r: readonly (readonly (number | undefined)[])[]) => r.map((q) => [q[0]!, q[1]!] as const);
  if (!outer || !pointInPolygon([lon, lat], ring(outer))) return false;
  return !holes.some((h) => pointInPolygon([lon, lat], ring(h)));
}

/** Image zones of a camera that contain a box's foot point. */
export function zonesAtBox<Z extends Pick<Zone, 'polygon'>>(zones: readonly Z[], box: Box): Z[] {
  const p = footPoint(box);
  return zones.filter((z) => z.polygon !== undefined && pointInPolygon(p, z.polygon));
}

/**
 * Whether `tMs` falls in any of the windows, local to `timeZone`. A window whose `to` is not after `from`
 * crosses midnight; its `days` are the days it starts on (Friday 18:00–02:00 covers Saturday 01:00).
 * No windows means always.
 */
export function inWindows(windows: readonly TimeWindow[] | undefined, tMs: number, timeZone: string): boolean {
  if (!windows || windows.length === 0) return true;
  const { weekday, minutes } = localTime(tMs, timeZone);
  const yesterday = weekday === 1 ? 7 : weekday - 1;
  return windows.some((w) => {
    const from = hhmmToMinutes(w.from);
    const to = hhmmToMinutes(w.to);
    const days = w.days ?? [1, 2, 3, 4, 5, 6, 7];
    if (to > from) return days.includes(weekday) && minutes >= from && minutes < to;
    // crosses midnight: the evening part today, or the early part of a window that started yesterday
    return (days.includes(weekday) && minutes >= from) || (days.includes(yesterday) && minutes < to);
  });
}
