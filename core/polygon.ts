/**
 * Plane geometry of polygon outlines: the checks that decide whether a ring of points is a usable zone. Pure
 * functions over `[x, y]` pairs, so they serve normalised image polygons and GeoJSON [lon, lat] rings alike
 * (at street scale a geofence is flat enough for these tests).
 */
export type Point = readonly [number, number];

/** Cross products this small are rounding noise of coordinates in 0..1 (or degrees), not a turn. */
const EPS = 1e-12;

/** Which side of the line a→b the point c is on: 1 left (counter-clockwise), -1 right, 0 on the line. */
export function orientation(a: Point, b: Point, c: Point): -1 | 0 | 1 {
  const v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
  return Math.abs(v) < EPS ? 0 : v > 0 ? 1 : -1;
}

/** Whether p, known to be on the line through a and b, lies within the segment a–b. */
function withinBox(a: Point, b: Point, p: Point): boolean {
  return Math.min(a[0], b[0]) <= p[0] && p[0] <= Math.max(a[0], b[0]) && Math.min(a[1], b[1]) <= p[1] && p[1] <= Math.max(a[1], b[1]);
}

/**
 * Whether the closed segments a–b and c–d have a point in common: a proper crossing, one touching the other
 * with an end, or the two overlapping along one line.
 */
export function segmentsIntersect(a: Point, b: Point, c: Point, d: Point): boolean {
  const o1 = orientation(a, b, c);
  const o2 = orientation(a, b, d);
  const o3 = orientation(c, d, a);
  const o4 = orientation(c, d, b);
  if (o1 !== o2 && o3 !== o4 && o1 !== 0 && o2 !== 0 && o3 !== 0 && o4 !== 0) return true;
  return (o1 === 0 && withinBox(a, b, c)) || (o2 === 0 && withinBox(a, b, d)) || (o3 === 0 && withinBox(c, d, a)) || (o4 === 0 && withinBox(c, d, b));
}

/** Twice the signed area of the ring (shoelace): positive counter-clockwise. A bow-tie's lobes cancel out. */
export function doubleSignedArea(pts: readonly Point[]): number {
  let a = 0;
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i]!;
    const q = pts[(i + 1) % pts.length]!;
    a += p[0] * q[1] - q[0] * p[1];
  }
  return a;
}

/** Whether every point lies on one straight line (or all are the same point). */
export function allCollinear(pts: readonly Point[]): boolean {
  const a = pts[0];
  if (!a) return true;
  const b = pts.find((p) => p[0] !== a[0] || p[1] !== a[1]);
  return b === undefined || pts.every((p) => orientation(a, b, p) === 0);
}

/**
 * The first pair of edges of the closed ring that meet although they are not neighbours, as 0-based edge
 * indices (edge i runs from point i to point i+1, the last back to the first); undefined for a simple ring.
 * Neighbouring edges share a corner by construction, so they are not compared.
 */
export function selfIntersection(pts: readonly Point[]): [number, number] | undefined {
  const n = pts.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 2; j < n; j++) {
      if (i === 0 && j === n - 1) continue;
      if (segmentsIntersect(pts[i]!, pts[(i + 1) % n]!, pts[j]!, pts[(j + 1) % n]!)) return [i, j];
    }
  }
  return undefined;
}
