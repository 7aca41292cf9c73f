import type { JurisdictionConfig, RoutingConfig, SquadConfig } from '../../config/dispatch.js';
import { StreetwatchError } from '../../core/errors.js';

/**
 * Which squad (中队) receives a ticket: place → jurisdiction (街道/镇) → squad, from dispatch.routing.
 *
 * The most specific rule wins:
 *   1. zone: routing.zoneJurisdiction lists the camera's zone (a view across a street boundary);
 *   2. camera location: the camera's own location.jurisdiction;
 *   3. camera map: routing.cameraJurisdiction[camera];
 *   4. default: routing.defaultSquad (patrol vehicles, cameras outside every jurisdiction).
 * A jurisdiction or squad id that the routing config does not define is an error, not a silent fall back to
 * the default squad: a typo would otherwise send a street's tickets to the wrong squad for months.
 */

export interface RouteInput {
  cameraId: string;
  zoneId?: string;
  /** The camera's location.jurisdiction, if configured. */
  cameraJurisdiction?: string;
}

export type RouteVia = 'zone' | 'camera_location' | 'camera_map' | 'default';

export interface Route {
  squad: SquadConfig;
  /** Absent when the ticket went to the default squad. */
  jurisdiction?: JurisdictionConfig;
  /** Which rule decided (for logs and the console). */
  via: RouteVia;
}

interface RoutingIndex {
  squads: Map<string, SquadConfig>;
  jurisdictions: Map<string, JurisdictionConfig>;
  zones: Map<string, string>;
}

// Routing configs are immutable once loaded; index each once (a district has ~13,000 cameras).
const indexes = new WeakMap<RoutingConfig, RoutingIndex>();

function indexOf(routing: RoutingConfig): RoutingIndex {
  let ix = indexes.get(routing);
  if (!ix) {
    ix = {
      squads: new Map(routing.squads.map((s) => [s.id, s])),
      jurisdictions: new Map(routing.jurisdictions.map((j) => [j.id, j])),
      zones: new Map((routing.zoneJurisdiction ?? []).map((z) => [zoneKey(z.camera, z.zone), z.jurisdiction])),
    };
    indexes.set(routing, ix);
  }
  return ix;
}

const zoneKey = (camera: string, zone: string) => `${camera}\u0000${zone}`;

function squadOf(ix: RoutingIndex, id: string, what: string, input: RouteInput): SquadConfig {
  const squad = ix.squads.get(id);
  if (!squad) {
    throw new StreetwatchError(
      'DISPATCH_NO_ROUTE',
      `camera '${input.cameraId}': ${what} names squad '${id}', which is not in dispatch.routing.squads (${[...ix.squads.keys()].join(', ') || 'none'}); add the squad or fix the id`,
      { details: { camera: input.cameraId, zone: input.zoneId, squad: id } },
    );
  }
  return squad;
}

export function resolveRoute(routing: RoutingConfig, input: RouteInput): Route {
  const ix = indexOf(routing);
  const candidates: [RouteVia, string | undefined, string][] = [
    ['zone', input.zoneId === undefined ? undefined : ix.zones.get(zoneKey(input.cameraId, input.zoneId)), `dispatch.routing.zoneJurisdiction (zone '${input.zoneId}')`],
    ['camera_location', input.cameraJurisdiction, 'its location.jurisdiction'],
    ['camera_map', routing.cameraJurisdiction?.[input.cameraId], 'dispatch.routing.cameraJurisdiction'],
  ];
  for (const [via, jurisdictionId, what] of candidates) {
    if (jurisdictionId === undefined) continue;
    const jurisdiction = ix.jurisdictions.get(jurisdictionId);
    if (!jurisdiction) {
      throw new StreetwatchError(
        'DISPATCH_NO_ROUTE',
        `camera '${input.cameraId}': ${what} names jurisdiction '${jurisdictionId}', which is not in dispatch.routing.jurisdictions (${[...ix.jurisdictions.keys()].join(', ') || 'none defined'}); add it or fix the id`,
        { details: { camera: input.cameraId, zone: input.zoneId, jurisdiction: jurisdictionId } },
      );
    }
    return { squad: squadOf(ix, jurisdiction.squad, `jurisdiction '${jurisdiction.id}'`, input), jurisdiction, via };
  }
  return { squad: squadOf(ix, routing.defaultSquad, 'dispatch.routing.defaultSquad', input), via: 'default' };
}
