import type { Box } from '../detectors/contract.js';

/**
 * Geometry of normalised boxes `[x1, y1, x2, y2]`, shared by the tracker, the rules and the static-object
 * detector, so that "overlap" means one thing everywhere.
 */

/** Area of the intersection, 0 when the boxes do not overlap. */
function intersection(a: Box, b: Box): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  return iw <= 0 || ih <= 0 ? 0 : iw * ih;
}

export const area = (a: Box): number => (a[2] - a[0]) * (a[3] - a[1]);

/** Intersection over union. */
export function iou(a: Box, b: Box): number {
  const inter = intersection(a, b);
  return inter === 0 ? 0 : inter / (area(a) + area(b) - inter);
}

/** Share of box `a` covered by box `b` (not symmetric: a person covers a small pile, not the reverse). */
export function coverage(a: Box, b: Box): number {
  const inter = intersection(a, b);
  return inter === 0 ? 0 : inter / area(a);
}

/** Intersection over the smaller box: 1 when one box lies inside the other (a region split or merged). */
export function overlapOfSmaller(a: Box, b: Box): number {
  const inter = intersection(a, b);
  return inter === 0 ? 0 : inter / Math.min(area(a), area(b));
}

/** The larger of the horizontal and vertical gaps between two boxes; 0 when they touch or overlap. */
export function gap(a: Box, b: Box): number {
  return Math.max(0, a[0] - b[2], b[0] - a[2], a[1] - b[3], b[1] - a[3]);
}

/** The smallest box holding both. */
export const union = (a: Box, b: Box): Box => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];

/**
 * Whether two boxes are one spot on the ground: overlapping (either covers a fifth of the other), or apart by
 * at most `grow` times the wider one's width and never less than 0.05 of the frame. The static-object detector
 * reports a pile as pieces while its outline settles, and a stall spreads (cart, baskets, a table beside the
 * vendor), so "the same place" is looser than overlap. The rules and the incidents use this one test.
 */
export function sameSpot(a: Box, b: Box, grow: number): boolean {
  if (coverage(a, b) > 0.2 || coverage(b, a) > 0.2) return true;
  return gap(a, b) <= Math.max(0.05, grow * Math.max(a[2] - a[0], b[2] - b[0]));
}
