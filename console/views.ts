import type { Config } from '../config/schema.js';
import type { Incident } from '../dispatcher/incidents/types.js';
import type { PlaceNames } from './analytics.js';

/**
 * What the console shows of an incident: the stored incident with the names a person reads (camera, zone,
 * street), its ticket's squad, priority and deadline, and a signed thumbnail. Shapes are in console/API.md.
 */
export interface IncidentView {
  id: string;
  type: Incident['type'];
  state: Incident['state'];
  cameraId: string;
  cameraName?: string;
  zoneId: string;
  zoneName?: string;
  address?: string;
  street?: string;
  shop?: { id: string; name: string };
  position?: { lat: number; lon: number };
  firstSeenMs: number;
  confirmedMs: number;
  lastSeenMs: number;
  updatedMs: number;
  /** When this store made it (absent for incidents stored before the console existed). */
  createdMs?: number;
  closedMs?: number;
  dwellSec: number;
  hits: number;
  detectors: string[];
  recurrenceOf?: string;
  resolution?: Incident['resolution'];
  redispatches?: number;
  /** Evidence packages it was owed that could not be made (a crash outlasting the ring, a full disk…). */
  evidenceLost?: Incident['evidenceLost'];
  squad?: { id: string; name: string };
  priority?: string;
  deadline?: string;
  thumbnail?: string;
}

interface TicketLike {
  squad?: { id: string; name: string };
  priority?: string;
  deadline?: string;
}

export function incidentView(config: Config, inc: Incident, ticket: unknown, thumbnail?: string): IncidentView {
  const cam = config.cameras.find((c) => c.id === inc.cameraId);
  const zone = cam?.zones.find((z) => z.id === inc.zoneId);
  const t = (ticket ?? undefined) as TicketLike | undefined;
  const street = streetOf(config, cam);
  return {
    id: inc.id,
    type: inc.type,
    state: inc.state,
    cameraId: inc.cameraId,
    ...(cam?.name !== undefined && { cameraName: cam.name }),
    zoneId: inc.zoneId,
    ...(zone?.name !== undefined && { zoneName: zone.name }),
    ...(cam?.location?.address !== undefined && { address: cam.location.address }),
    ...(street !== undefined && { street }),
    ...(inc.shop && { shop: { id: inc.shop.id, name: inc.shop.name } }),
    ...(inc.position && { position: inc.position }),
    firstSeenMs: inc.firstSeenMs,
    confirmedMs: inc.confirmedMs,
    lastSeenMs: inc.lastSeenMs,
    updatedMs: inc.updatedMs,
    ...(inc.createdMs !== undefined && { createdMs: inc.createdMs }),
    ...(inc.closedMs !== undefined && { closedMs: inc.closedMs }),
    dwellSec: inc.dwellSec,
    hits: inc.hits,
    detectors: inc.detectors,
    ...(inc.recurrenceOf !== undefined && { recurrenceOf: inc.recurrenceOf }),
    ...(inc.resolution && { resolution: inc.resolution }),
    ...(inc.redispatches !== undefined && { redispatches: inc.redispatches }),
    ...(inc.evidenceLost?.length && { evidenceLost: inc.evidenceLost }),
    ...(t?.squad && { squad: { id: t.squad.id, name: t.squad.name } }),
    ...(t?.priority !== undefined && { priority: t.priority }),
    ...(t?.deadline !== undefined && { deadline: t.deadline }),
    ...(thumbnail !== undefined && { thumbnail }),
  };
}

/**
 * The street or area a person reads for a camera: its jurisdiction's name (街道, from dispatch routing), else
 * the jurisdiction id, else its address.
 */
export function streetOf(config: Config, cam: Config['cameras'][number] | undefined): string | undefined {
  const j = cam?.location?.jurisdiction;
  if (j !== undefined) return config.dispatch?.routing.jurisdictions.find((x) => x.id === j)?.name ?? j;
  return cam?.location?.address;
}

/** Names for analytics, from the running config (a camera removed since keeps its ids). */
export function placeNames(config: Config): PlaceNames {
  const cams = new Map(config.cameras.map((c) => [c.id, c]));
  return {
    zone: (cameraId, zoneId) => {
      const cam = cams.get(cameraId);
      const zone = cam?.zones.find((z) => z.id === zoneId);
      return `${cam?.name ?? cameraId} · ${zone?.name ?? zoneId}`;
    },
    street: (cameraId) => streetOf(config, cams.get(cameraId)),
  };
}

/** Where a WGS 84 point falls on a plan image covering `bounds` (0..1 from the left and from the top). */
export function planXY(b: { west: number; south: number; east: number; north: number }, lat: number, lon: number): { x: number; y: number } {
  return { x: (lon - b.west) / (b.east - b.west), y: (b.north - lat) / (b.north - b.south) };
}
