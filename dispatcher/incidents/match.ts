import { sameSpot, union } from '../../core/box.js';
import { haversineMeters } from '../../core/geo.js';
import type { Hit } from '../../rules/types.js';
import { OPEN_STATES, type HitDecision, type Incident } from './types.js';

/**
 * Which incident a hit belongs to, as pure functions. Same type, and the same place:
 *  - zones that share a `site` (several cameras on one corner) are one place, whatever the camera;
 *  - otherwise the same camera and zone, and boxes that overlap or nearly touch (a stall spreads; a pile is
 *    re-found a little off after the detector lost it, or first as a piece of itself: the static-object
 *    detector reports a region while its outline settles, so the incident's box is the union of its hits');
 *  - vehicle hits (with a position): the same zone within `sameSpotMeters`.
 */
export interface MatchParams {
  /** Closed incidents suppress hits at their place for this long; after it, a hit opens a recurrence. */
  cooldownMs: number;
  /** Vehicle hits within this distance are one place. */
  sameSpotMeters: number;
}

export function samePlace(hit: Hit, inc: Incident, p: MatchParams): boolean {
  if (hit.type !== inc.type) return false;
  if (hit.site !== undefined || inc.site !== undefined) return hit.site === inc.site;
  if (hit.zoneId !== inc.zoneId) return false;
  if (hit.position && inc.position) return haversineMeters(hit.position, inc.position) <= p.sameSpotMeters;
  if (hit.cameraId !== inc.cameraId) return false;
  return sameSpot(hit.box, inc.box, 0.5);
}

/**
 * The decision for a hit given the incidents that might match (any state). The newest matching incident
 * decides: open → extend; closed within the cool-down → suppress; closed longer ago → a new incident, a
 * recurrence when the old one was resolved (a rejected one was a false positive: nothing recurs).
 */
export function decide(hit: Hit, incidents: readonly Incident[], p: MatchParams): HitDecision {
  const matching = incidents.filter((i) => samePlace(hit, i, p)).sort((a, b) => b.confirmedMs - a.confirmedMs);
  const open = matching.find((i) => OPEN_STATES.has(i.state));
  if (open) return { kind: 'extend', incidentId: open.id };
  const last = matching[0];
  if (!last) return { kind: 'create' };
  if (hit.atMs - (last.closedMs ?? last.updatedMs) < p.cooldownMs) return { kind: 'suppress', incidentId: last.id, reason: 'cooldown' };
  return last.state === 'resolved' ? { kind: 'create', recurrenceOf: last.id } : { kind: 'create' };
}

/** A new incident from its first hit. */
export function incidentFromHit(id: string, hit: Hit, nowMs: number, recurrenceOf?: string): Incident {
  return {
    id,
    type: hit.type,
    state: 'confirmed',
    cameraId: hit.cameraId,
    cameras: [hit.cameraId],
    zoneId: hit.zoneId,
    ...(hit.site !== undefined ? { site: hit.site } : {}),
    ...(hit.shop !== undefined ? { shop: hit.shop } : {}),
    ...(hit.position !== undefined ? { position: hit.position } : {}),
    box: hit.box,
    firstSeenMs: hit.firstSeenMs,
    confirmedMs: hit.atMs,
    lastSeenMs: hit.atMs,
    dwellSec: hit.dwellSec,
    hits: 1,
    detectors: [...new Set(hit.objects.map((o) => o.detector))],
    trackIds: hit.trackIds,
    frames: { confirmed: hit.frame, latest: hit.frame },
    ...(recurrenceOf !== undefined ? { recurrenceOf } : {}),
    createdMs: nowMs,
    updatedMs: nowMs,
  };
}

/** An open incident seen again: later last sighting, longer dwell, more cameras and detectors. */
export function extendIncident(inc: Incident, hit: Hit, nowMs: number): Incident {
  const later = hit.atMs >= inc.lastSeenMs;
  return {
    ...inc,
    cameras: inc.cameras.includes(hit.cameraId) ? inc.cameras : [...inc.cameras, hit.cameraId],
    // boxes of other cameras (a shared site) are in other images: the incident keeps its first camera's
    box: hit.cameraId === inc.cameraId ? union(inc.box, hit.box) : inc.box,
    firstSeenMs: Math.min(inc.firstSeenMs, hit.firstSeenMs),
    lastSeenMs: Math.max(inc.lastSeenMs, hit.atMs),
    dwellSec: Math.max(inc.dwellSec, Math.round((Math.max(inc.lastSeenMs, hit.atMs) - Math.min(inc.firstSeenMs, hit.firstSeenMs)) / 100) / 10),
    hits: inc.hits + 1,
    detectors: [...new Set([...inc.detectors, ...hit.objects.map((o) => o.detector)])],
    trackIds: [...new Set([...inc.trackIds, ...hit.trackIds])],
    frames: later ? { ...inc.frames, latest: hit.frame } : inc.frames,
    updatedMs: nowMs,
  };
}
