import { coverage, sameSpot, union } from '../core/box.js';
import type { Box, SemanticLabel } from '../detectors/contract.js';
import { stillSec, type Track } from '../pipeline/tracker.js';
import { footPoint, inWindows, pointInPolygon } from '../pipeline/zones.js';
import { firedKey, type FiredMap, type Hit, type RuleInput, type RuleZone, type ViolationType } from './types.js';

/**
 * The three violations (DESIGN.md), as one pure evaluation over a camera's tracks and zones at time `tMs`:
 *
 *  stacking   (占道堆物) a static thing — goods or a class-agnostic static object, never a person or a vehicle
 *             (a static-object region that is really a standing person or a parked car is discounted) — in a
 *             no_stacking zone, still for the zone's dwell, while the rule is active.
 *  door_front (跨门经营) goods, racks, tables, chairs, umbrellas, plants or static objects in a shop's frontage
 *             zone during business hours (the rule's activeHours), still for the dwell; the hit names the shop.
 *  stall      (流动设摊) a stall-like object (cart, stall, umbrella, table, goods, static object) still for the
 *             dwell in a no_vending zone, with a person staying beside it, and not inside a legal stall point
 *             (摊地图) during that point's opening hours.
 *
 * Objects are placed by their foot point; anything whose foot point is in a mask zone is ignored. Each
 * (rule, zone, track) fires once — a still object whose box jitters keeps its track id and does not re-alert.
 */
export const THINGS: Record<ViolationType, ReadonlySet<SemanticLabel>> = {
  stacking: new Set(['goods', 'static_object']),
  door_front: new Set(['goods', 'table', 'chair', 'umbrella', 'plant', 'static_object', 'stall', 'cart']),
  stall: new Set(['cart', 'stall', 'umbrella', 'table', 'goods', 'static_object']),
};

/**
 * How long a region's person cover must have been counted before it can explain the region away: long enough
 * that one person pausing on it at its first sighting does not, and counted in time, not frames, since a camera
 * may be looked at every 0.5 s or every 4 s (4 frames were 16 s at 4 s looks, longer than a pile's whole wait
 * for its first hit).
 */
const PERSON_COVER_MIN_MS = 6000;
/** Looks (detections matched to its track) a static-object region needs before it can alert. */
const MIN_STILL_REGION_LOOKS = 3;

/**
 * A static-object region that is really a person standing still or a parked vehicle. Either a person was on
 * it in most of the frames that saw it (the detector may score a still person low or miss them now and then,
 * so every person detection counts, see Track.personCover), or a person or vehicle track seen in this frame
 * covers most of it and has stood there about as long. A passer-by walking over a pile covers it too, but
 * only for a moment, and does not explain it away.
 */
function explainedByOthers(t: Track, tracks: readonly Track[], tMs: number): boolean {
  if (t.semantic !== 'static_object') return false;
  const pc = t.personCover;
  if (pc && pc.frames >= 2 && tMs - pc.sinceMs >= PERSON_COVER_MIN_MS && pc.covered >= 0.5 * pc.frames) return true;
  const still = stillSec(t, tMs);
  return tracks.some(
    (o) =>
      (o.semantic === 'person' || o.semantic === 'vehicle' || o.semantic === 'two_wheeler') &&
      o.lastSeenMs === tMs &&
      coverage(t.box, o.box) > 0.5 &&
      stillSec(o, tMs) >= 0.5 * still,
  );
}

function inZone(t: Track, z: RuleZone): boolean {
  return z.polygon !== undefined && pointInPolygon(footPoint(t.box), z.polygon);
}

/**
 * A person whose feet are near the object (within 1.5 object widths, at least 0.05 of the frame), seen within
 * `seenWithinMs` and present for at least `minPresenceSec`. A vendor stays by the stall; a fixed camera can
 * ask for a while of presence, a passing vehicle only for the person in the same frame.
 */
export function vendorBeside(obj: Track, tracks: readonly Track[], tMs: number, minPresenceSec: number, seenWithinMs: number): Track | undefined {
  const [ox, oy] = footPoint(obj.box);
  const reach = Math.max(0.05, 1.5 * (obj.box[2] - obj.box[0]));
  return tracks.find((p) => {
    if (p.semantic !== 'person' || tMs - p.lastSeenMs > seenWithinMs) return false;
    const [px, py] = footPoint(p.box);
    return Math.hypot(px - ox, (py - oy) * 0.5) <= reach && (tMs - p.firstSeenMs) / 1000 >= minPresenceSec;
  });
}

export interface EvaluateResult {
  hits: Hit[];
  fired: Map<string, { type: ViolationType; zoneId: string; box: Box; liveMs: number }>;
}

/**
 * How long an alerted spot is remembered after its last track vanished. The static-object detector loses a
 * pile while something stands in front of it and needs its minStaticSec to find it again; a camera looked at
 * every 4 s loses the track for longer than the tracker keeps it (10 s), and the pile then came back as a new
 * track and alerted a second time (stacking-missed-after-alert at `keyframes:4`). A pile gone for longer is a
 * new violation when it comes back.
 */
export const FIRED_MEMORY_MS = 30_000;

/**
 * The tracks of `pool` chained to `seed` by sameSpot (A near B near C), and the box around them all: the
 * static-object detector may report one pile as several pieces while its outline settles.
 */
function pieceCluster(seed: Track, pool: readonly Track[], grow: number): { members: Track[]; box: Box } {
  const members = [seed];
  let box = seed.box;
  for (let i = 0; i < members.length; i++) {
    for (const o of pool) {
      if (!members.includes(o) && sameSpot(o.box, members[i]!.box, grow)) {
        members.push(o);
        box = union(box, o.box);
      }
    }
  }
  return { members, box };
}

export function evaluateRules(input: RuleInput, fired: FiredMap): EvaluateResult {
  const next = new Map(fired);
  const hits: Hit[] = [];
  const { tracks, tMs, zones } = input;
  const masks = zones.filter((z) => z.kind === 'mask');
  const openStallPoints = zones.filter((z) => z.kind === 'legal_stall' && inWindows(z.openingHours, tMs, z.timezone));
  const candidates = tracks.filter((t) => !masks.some((m) => inZone(t, m)));

  for (const z of zones) {
    for (const type of ['stacking', 'door_front', 'stall'] as const) {
      const rule = z.rules?.[type];
      if (!rule) continue;
      if ((type === 'stacking' && z.kind !== 'no_stacking') || (type === 'door_front' && z.kind !== 'shopfront') || (type === 'stall' && z.kind !== 'no_vending')) continue;
      if (!inWindows(rule.activeHours, tMs, z.timezone)) continue;
      const grow = type === 'stall' ? 1.5 : 0.25;
      // only objects seen in this frame fire
      const here = candidates.filter((t) => THINGS[type].has(t.semantic) && inZone(t, z) && t.lastSeenMs === tMs);
      for (const t of here) {
        const key = firedKey(type, z.id, t.id);
        if (next.has(key)) continue;
        const twin = [...next.values()].find((f) => f.type === type && f.zoneId === z.id && sameSpot(t.box, f.box, grow));
        if (twin) {
          // the same violation seen as another track: remember the track, do not alert again
          next.set(key, { type, zoneId: z.id, box: twin.box, liveMs: tMs });
          continue;
        }
        const dwell = stillSec(t, tMs);
        if (dwell < rule.dwell) continue;
        // a still region seen in fewer looks than this is not established: at a look every 4 s, slow walkers
        // and a standing person's legs make regions that last one or two looks before they change shape
        if (t.semantic === 'static_object' && t.hits < MIN_STILL_REGION_LOOKS) continue;
        if (explainedByOthers(t, tracks, tMs)) continue;
        let vendor: Track | undefined;
        if (type === 'stall') {
          if (openStallPoints.some((lp) => inZone(t, lp))) continue;
          vendor = vendorBeside(t, tracks, tMs, Math.min(rule.dwell, 30) / 2, 5000);
          if (!vendor) continue;
        }
        // the pieces of this pile or stall seen in this frame are this violation too, not new ones
        const spot = pieceCluster(t, here, grow);
        for (const m of spot.members) next.set(firedKey(type, z.id, m.id), { type, zoneId: z.id, box: spot.box, liveMs: tMs });
        const involved = vendor ? [t, vendor] : [t];
        hits.push({
          type,
          cameraId: input.cameraId,
          zoneId: z.id,
          ...(z.site ? { site: z.site } : {}),
          ...(type === 'door_front' && z.shop ? { shop: z.shop } : {}),
          box: t.box,
          score: t.score,
          firstSeenMs: t.stillSinceMs,
          atMs: tMs,
          dwellSec: Math.round(dwell * 10) / 10,
          trackIds: involved.map((x) => x.id),
          objects: involved.map((x) => ({ trackId: x.id, semantic: x.semantic, detector: x.detector })),
          frame: input.frame,
          shadow: input.shadow,
        });
      }
    }
  }
  // fired keys of live tracks are renewed; those of tracks that no longer exist are forgotten FIRED_MEMORY_MS
  // later, so the memory stays bounded and a spot whose tracks are all gone for that long (the object left) may
  // fire again as a new violation
  const live = new Set(tracks.map((t) => t.id));
  for (const [k, f] of next) {
    if (live.has(Number(k.split('|')[2]))) {
      if (f.liveMs !== tMs) next.set(k, { ...f, liveMs: tMs });
    } else if (tMs - f.liveMs > FIRED_MEMORY_MS) next.delete(k);
  }
  return { hits, fired: next };
}
