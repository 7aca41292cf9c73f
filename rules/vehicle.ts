import { revisitSchema, type RevisitConfig } from '../config/schema.js';
import { haversineMeters, type GeoPoint } from '../core/geo.js';
import type { FramePosition } from '../core/types.js';
import type { SemanticLabel } from '../detectors/contract.js';
import type { Track } from '../pipeline/tracker.js';
import { footPoint, inWindows, pointInPolygon, positionInGeofence } from '../pipeline/zones.js';
import { THINGS as FIXED_THINGS, vendorBeside } from './engine.js';
import type { Hit, RuleZone, ViolationType } from './types.js';

/**
 * The violations seen from a patrol vehicle, as a pure reducer over (frame, state) with time as an argument.
 *
 * A moving camera cannot watch an object stand still: every object drifts across the image as the vehicle
 * drives, and one pass shows a stall for a few seconds (or minutes, stopped at a light beside it) whether it
 * is set up there or being pushed along. What a vehicle can establish is that the same kind of thing is at
 * the same place on two separate passes, far enough apart in time: that is the dwell for a vehicle feed.
 *
 * So each frame with a GNSS fix inside a zone's geofence is a possible *sighting* of a rule (stall: a
 * stall-like object with a person's feet beside it; stacking: goods; door_front: goods or furniture), and
 * sightings are remembered per (rule, zone) as *spots* on the map. A sighting near a spot joins it; it starts
 * a new pass when the vehicle has been away from the spot since the previous sighting and at least
 * `newPassAfterSec` has gone by. A spot fires once, when it has two passes and its first sighting is at least
 * the rule's dwell ago. The position is the vehicle's, not the object's: good enough to say "same place" at
 * street scale, with `sameSpotMeters` absorbing the camera's reach and GNSS drift.
 *
 * Unlike fixed cameras, `static_object` never counts: the class-agnostic detector compares against a learnt
 * background, which a moving camera does not have.
 */

/** The fixed-camera subjects minus static_object (see above). */
const THINGS = Object.fromEntries(
  Object.entries(FIXED_THINGS).map(([type, set]) => [type, new Set([...set].filter((l) => l !== 'static_object'))]),
) as unknown as Record<ViolationType, ReadonlySet<SemanticLabel>>;

/** The zone kind each rule belongs to (the same pairing config/zones.ts and rules/engine.ts use). */
const RULE_KIND: Record<ViolationType, RuleZone['kind']> = { stacking: 'no_stacking', door_front: 'shopfront', stall: 'no_vending' };

const RULES: readonly ViolationType[] = ['stacking', 'door_front', 'stall'];

export interface VehicleParams extends RevisitConfig {
  /** Spots remembered per camera at most; the least recently seen go first (a busy street must not grow memory). */
  maxSpots: number;
  /** Pass starts kept per spot at most (the first and the latest); the count itself is exact. */
  maxPassesKept: number;
  /** Positions kept per spot's trail at most (one per half `sameSpotMeters` of road). */
  maxTrail: number;
}

export const DEFAULT_VEHICLE_PARAMS: VehicleParams = { ...revisitSchema.parse({}), maxSpots: 512, maxPassesKept: 16, maxTrail: 16 };

export type { GeoPoint };
export { haversineMeters };

export interface PassStart {
  atMs: number;
  seq: number;
}

/** One place where a rule's subject has been sighted from the vehicle. */
export interface Spot {
  type: ViolationType;
  zoneId: string;
  /** Mean of the vehicle's positions at the sightings: where the hit says the violation is. */
  at: GeoPoint;
  /** Sightings averaged into `at`. */
  sightings: number;
  /**
   * The stretch of road the spot was sighted from, one position per half `sameSpotMeters`. A pass sees the
   * thing from tens of metres before it up to beside it, and the next pass may come from the other end, so
   * matching against the stretch (not one point, not the mean) keeps both passes one spot.
   */
  trail: readonly GeoPoint[];
  firstMs: number;
  lastMs: number;
  passCount: number;
  passes: readonly PassStart[];
  /** The vehicle has been seen (with a fix) away from the spot since the latest sighting. */
  left: boolean;
  fired: boolean;
}

export interface VehicleState {
  spots: readonly Spot[];
}

export const emptyVehicleState = (): VehicleState => ({ spots: [] });

export interface VehicleInput {
  cameraId: string;
  /** The camera's zones: geofences for the rules and legal stall points, image polygons for masks (the bonnet). */
  zones: readonly RuleZone[];
  tracks: readonly Track[];
  /** The frame's position; undefined or `no_fix` means nothing can be placed on the map. */
  position: FramePosition | undefined;
  tMs: number;
  frame: { cameraId: string; seq: number; wallMs: number };
  shadow: boolean;
}

export interface VehicleResult {
  hits: Hit[];
  state: VehicleState;
}


/** How far the vehicle is from a spot: from the nearest point of the stretch it was sighted from. */
function spotDistance(s: Spot, p: GeoPoint): number {
  return Math.min(...s.trail.map((q) => haversineMeters(q, p)));
}

/** Extends a spot's trail by a position, if it is new road (farther than half `sameSpotMeters`) and there is room. */
function extendTrail(trail: readonly GeoPoint[], p: GeoPoint, params: VehicleParams): readonly GeoPoint[] {
  if (trail.length >= params.maxTrail || trail.some((q) => haversineMeters(q, p) <= params.sameSpotMeters / 2)) return trail;
  return [...trail, p];
}

/** A person in this frame beside the object: the fixed camera's vendor test with no minimum presence (a pass is too short for one). */
export const personBeside = (obj: Track, tracks: readonly Track[], tMs: number): Track | undefined => vendorBeside(obj, tracks, tMs, 0, 0);

interface Sighting {
  obj: Track;
  vendor: Track | undefined;
}

/** The best subject of a rule in this frame (highest score), among tracks seen in it and not masked. */
function sightingIn(type: ViolationType, visible: readonly Track[], tMs: number): Sighting | undefined {
  let best: Sighting | undefined;
  for (const obj of visible) {
    if (!THINGS[type].has(obj.semantic)) continue;
    const vendor = type === 'stall' ? personBeside(obj, visible, tMs) : undefined;
    if (type === 'stall' && !vendor) continue;
    if (!best || obj.score > best.obj.score) best = { obj, vendor };
  }
  return best;
}

const inFence = (z: RuleZone, p: GeoPoint) => z.geofence !== undefined && positionInGeofence(p.lon, p.lat, z.geofence);

/** Records a pass start, keeping the first pass and the latest ones when there are too many. */
function addPass(passes: readonly PassStart[], p: PassStart, keep: number): PassStart[] {
  const next = [...passes, p];
  return next.length > keep ? [next[0]!, ...next.slice(next.length - keep + 1)] : next;
}

function newSpot(type: ViolationType, zoneId: string, p: GeoPoint, tMs: number, seq: number): Spot {
  return { type, zoneId, at: p, sightings: 1, trail: [p], firstMs: tMs, lastMs: tMs, passCount: 1, passes: [{ atMs: tMs, seq }], left: false, fired: false };
}

/** A sighting joining a spot: a new pass if the vehicle went away and came back after long enough. */
function joinSpot(s: Spot, p: GeoPoint, tMs: number, seq: number, params: VehicleParams): Spot {
  const newPass = s.left && tMs - s.lastMs >= params.newPassAfterSec * 1000;
  const n = s.sightings + 1;
  return {
    ...s,
    at: { lat: s.at.lat + (p.lat - s.at.lat) / n, lon: s.at.lon + (p.lon - s.at.lon) / n },
    sightings: n,
    trail: extendTrail(s.trail, p, params),
    lastMs: tMs,
    passCount: newPass ? s.passCount + 1 : s.passCount,
    passes: newPass ? addPass(s.passes, { atMs: tMs, seq }, params.maxPassesKept) : s.passes,
    left: false,
  };
}

function hitFor(input: VehicleInput, z: RuleZone, s: Spot, sight: Sighting): Hit {
  const involved = sight.vendor ? [sight.obj, sight.vendor] : [sight.obj];
  return {
    type: s.type,
    cameraId: input.cameraId,
    zoneId: z.id,
    ...(z.site ? { site: z.site } : {}),
    ...(s.type === 'door_front' && z.shop ? { shop: z.shop } : {}),
    box: sight.obj.box,
    score: sight.obj.score,
    firstSeenMs: s.firstMs,
    atMs: input.tMs,
    dwellSec: Math.round((input.tMs - s.firstMs) / 100) / 10,
    trackIds: involved.map((x) => x.id),
    objects: involved.map((x) => ({ trackId: x.id, semantic: x.semantic, detector: x.detector })),
    frame: input.frame,
    shadow: input.shadow,
    position: { lat: s.at.lat, lon: s.at.lon },
    passes: s.passes.map((p) => ({ ...p })),
  };
}

/** Drops spots not seen for `forgetAfterSec`, then the least recently seen beyond `maxSpots`. */
function forget(spots: readonly Spot[], tMs: number, params: VehicleParams): Spot[] {
  const kept = spots.filter((s) => tMs - s.lastMs <= params.forgetAfterSec * 1000);
  if (kept.length <= params.maxSpots) return kept;
  return [...kept].sort((a, b) => b.lastMs - a.lastMs).slice(0, params.maxSpots);
}

export function evaluateVehicle(input: VehicleInput, state: VehicleState, params: VehicleParams = DEFAULT_VEHICLE_PARAMS): VehicleResult {
  const { tMs, zones, position } = input;
  const spots = forget(state.spots, tMs, params);
  // without a fix nothing can be placed, and a gap says nothing about whether the vehicle left a spot
  if (position?.status !== 'fix') return { hits: [], state: { spots } };
  const here: GeoPoint = { lat: position.lat, lon: position.lon };

  // the vehicle away from a spot ends the pass there: the next sighting (after newPassAfterSec) is a new pass
  for (let i = 0; i < spots.length; i++) {
    const s = spots[i]!;
    if (!s.left && spotDistance(s, here) > params.sameSpotMeters) spots[i] = { ...s, left: true };
  }

  // a mask geofence (a depot, a market the bureau handles otherwise) silences the vehicle there
  if (zones.some((z) => z.kind === 'mask' && inFence(z, here))) return { hits: [], state: { spots } };
  const imageMasks = zones.filter((z) => z.kind === 'mask' && z.polygon !== undefined);
  const visible = input.tracks.filter((t) => t.lastSeenMs === tMs && !imageMasks.some((m) => pointInPolygon(footPoint(t.box), m.polygon!)));
  const legalStallOpen = zones.some((z) => z.kind === 'legal_stall' && inFence(z, here) && inWindows(z.openingHours, tMs, z.timezone));

  const hits: Hit[] = [];
  for (const z of zones) {
    if (!inFence(z, here)) continue;
    for (const type of RULES) {
      const rule = z.rules?.[type];
      if (!rule || z.kind !== RULE_KIND[type]) continue;
      if (type === 'stall' && legalStallOpen) continue;
      if (!inWindows(rule.activeHours, tMs, z.timezone)) continue;
      const sight = sightingIn(type, visible, tMs);
      if (!sight) continue;
      let best = -1;
      let bestDist = Infinity;
      spots.forEach((s, i) => {
        if (s.type !== type || s.zoneId !== z.id) return;
        const d = spotDistance(s, here);
        if (d <= params.sameSpotMeters && d < bestDist) [best, bestDist] = [i, d];
      });
      if (best < 0) {
        spots.push(newSpot(type, z.id, here, tMs, input.frame.seq));
        continue;
      }
      const s = joinSpot(spots[best]!, here, tMs, input.frame.seq, params);
      const due = !s.fired && s.passCount >= 2 && tMs - s.firstMs >= rule.dwell * 1000;
      spots[best] = due ? { ...s, fired: true } : s;
      if (due) hits.push(hitFor(input, z, s, sight));
    }
  }
  return { hits, state: { spots: forget(spots, tMs, params) } };
}

/** The reducer's parameters from a vehicle source's `revisit` config (absent: the schema's defaults). */
export const vehicleParams = (revisit: RevisitConfig | undefined): VehicleParams => ({ ...DEFAULT_VEHICLE_PARAMS, ...revisitSchema.parse(revisit ?? {}) });
