import type { Box } from '../../detectors/contract.js';
import type { Hit, ViolationType } from '../../rules/types.js';
import type { LostEvidence } from './owed.js';

/**
 * An incident is one violation at one place, however many hits observe it: what a squad gets one ticket for.
 *
 *   confirmed ──ticket published──▶ dispatched ──accepted──▶ acknowledged ──on_site──▶ on_site ──resolved──▶ resolved
 *        └──────────────┴─────────────────────┴───────────────────┴──rejected_false_positive──▶ rejected
 *
 * A squad may skip states (on_site straight after dispatch, resolved without on_site), never go back. on_site
 * is a state of its own so the command room sees an officer is there, and so a squad's "on site" after
 * "accepted" is a real change, stored and answered alike (it once answered 409 but was stored anyway).
 *
 * While open (confirmed, dispatched, acknowledged, on_site) new hits only extend it. After it is resolved, the same
 * violation at the same place is suppressed for the cool-down (the squad has just cleared it; the stall is
 * still packing up), then opens a new incident marked as a recurrence of this one.
 */
export const INCIDENT_STATES = ['confirmed', 'dispatched', 'acknowledged', 'on_site', 'resolved', 'rejected'] as const;
export type IncidentState = (typeof INCIDENT_STATES)[number];
export const OPEN_STATES: ReadonlySet<IncidentState> = new Set(['confirmed', 'dispatched', 'acknowledged', 'on_site']);
/** States in which the holding squad has seen the ticket (its evidence may then age out). */
export const SEEN_BY_SQUAD: ReadonlySet<IncidentState> = new Set(['acknowledged', 'on_site', 'resolved', 'rejected']);

/** What the squads report back on the ticket-status topic (its schema: dispatcher/ticket/schema.ts). */
export type { TicketStatus } from '../ticket/schema.js';

export interface Incident {
  /** Also the ticket id and the ticket's idempotency key. */
  id: string;
  type: ViolationType;
  state: IncidentState;
  /** The camera of the first hit; `cameras` lists every camera that saw it (zones sharing a site). */
  cameraId: string;
  cameras: string[];
  zoneId: string;
  site?: string;
  shop?: Hit['shop'];
  /** Vehicle feeds: where (WGS 84). */
  position?: { lat: number; lon: number };
  /** Around every hit of its first camera (normalised, in that camera's image). */
  box: Box;
  /** When the object was first seen standing there (the first hit's firstSeenMs). */
  firstSeenMs: number;
  /** When the first hit fired: the incident's confirmation. */
  confirmedMs: number;
  lastSeenMs: number;
  dwellSec: number;
  hits: number;
  /** Detectors behind its hits (evidence meta and false-positive statistics). */
  detectors: string[];
  trackIds: number[];
  /** Frame references: first hit (confirmation) and latest hit. */
  frames: { confirmed: Hit['frame']; latest: Hit['frame'] };
  recurrenceOf?: string;
  /** When it left the open states. */
  closedMs?: number;
  /** Who closed it and how (a squad's report or an operator's action in the console). */
  resolution?: { status: 'resolved' | 'rejected_false_positive' | 'closed'; by: string; note?: string; atMs: number };
  /** Times an operator re-issued its ticket. */
  redispatches?: number;
  /** Evidence packages it was owed that could not be made (a crash outlasting the ring, a full disk…). */
  evidenceLost?: LostEvidence[];
  /** When this store made it (absent in incidents stored before the console existed). */
  createdMs?: number;
  updatedMs: number;
}

/** What a hit does to the incidents (decided by `decide`, applied by the store in one transaction). */
export type HitDecision =
  | { kind: 'create'; recurrenceOf?: string }
  | { kind: 'extend'; incidentId: string }
  /** Matches an incident closed less than the cool-down ago: recorded nowhere, counted. */
  | { kind: 'suppress'; incidentId: string; reason: 'cooldown' };
