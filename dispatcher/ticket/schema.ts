import { z } from 'zod';
import { PRIORITIES } from '../../config/dispatch.js';
import { RULE_IDS } from '../../config/zones.js';

/**
 * The published contract between streetwatch and the squads' case systems: the ticket (streetwatch → squads,
 * topic …tickets, keyed by squad id) and the ticket status (squads → streetwatch, topic …ticket-status).
 *
 * Versioning: every message carries a `schema` field, `streetwatch.ticket/1` or `streetwatch.ticket-status/1`,
 * rather than a bare `version: 1`, so a message says what it is even when it lands on the wrong topic or in the
 * dead-letter topic. Within a version nothing is removed, renamed or re-typed; a change that would break a
 * reader is a new version (`…/2`) with its own JSON Schema file. The JSON Schemas in schemas/ are generated
 * from these zod schemas by `scripts/gen-schemas.ts` and committed; a unit test fails when they drift.
 *
 * Times are ISO 8601 with an offset (the deployment's local time, e.g. +08:00).
 */

export const TICKET_SCHEMA_ID = 'streetwatch.ticket/1';
export const TICKET_STATUS_SCHEMA_ID = 'streetwatch.ticket-status/1';

const isoTime = () => z.iso.datetime({ offset: true });
const text = () => z.string().min(1).max(500);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 is 64 lowercase hex digits');

/** Recommended actions; see `recommendedAction`. */
export const RECOMMENDED_ACTIONS = ['educate_and_correct', 'open_case'] as const;

/** Statuses a squad reports back. */
export const TICKET_STATUSES = ['accepted', 'on_site', 'resolved', 'rejected_false_positive'] as const;

export const ticketViolationV1 = z
  .strictObject({
    /** streetwatch's violation type: stall (流动设摊/游商), door_front (店外/跨门经营), stacking (乱堆物料). */
    type: z.enum(RULE_IDS).describe('Violation type: stall, door_front or stacking.'),
    /** 数字城管 event-category code from `standard`, e.g. "0504". */
    code: z.string().regex(/^\d{4,5}$/).describe('数字城管 event-category code (部件和事件分类代码) from `standard`.'),
    /** The category's Chinese name in that standard, e.g. 店外经营. */
    name: text().describe('Chinese name of the category in `standard`.'),
    /** The standard the code is from, e.g. "GB/T 30428.2-2013". */
    standard: text().describe('Standard the code is taken from, e.g. "GB/T 30428.2-2013".'),
    /** False when the code is not confirmed against the standard (see dispatcher/ticket/codes.ts). */
    codeConfirmed: z.boolean().describe('False when the code is not yet confirmed against the standard text.'),
  })
  .describe('The violation and its 数字城管 category.');

export const ticketPlaceV1 = z
  .strictObject({
    /** Camera id in streetwatch's config. */
    cameraId: text().describe('Camera id.'),
    /** Human name of the camera, when configured. */
    cameraName: text().optional().describe('Camera name.'),
    /** Zone (fixed camera) or geofence (vehicle) id the violation was seen in. */
    zoneId: text().describe('Zone or geofence id the violation was seen in.'),
    /** Street address text, when known. */
    address: text().optional().describe('Street address.'),
    /** WGS-84 latitude in degrees (the camera's, or the vehicle's at the sighting). */
    lat: z.number().min(-90).max(90).optional().describe('WGS-84 latitude, degrees.'),
    /** WGS-84 longitude in degrees. */
    lon: z.number().min(-180).max(180).optional().describe('WGS-84 longitude, degrees.'),
    /** The street/town (街道/镇) the place belongs to, when routing found one. */
    jurisdiction: z
      .strictObject({ id: text().describe('Jurisdiction id.'), name: text().describe('Jurisdiction name (街道/镇).') })
      .optional()
      .describe('Jurisdiction (街道/镇) of the place.'),
  })
  .describe('Where the violation is.');

export const ticketSubjectV1 = z
  .strictObject({
    /** Always "shop" in version 1. */
    kind: z.literal('shop').describe('Subject kind; "shop" in version 1.'),
    /** Id in the bureau's shop register (门店/市场主体). */
    id: text().describe('Shop id in the shop register.'),
    /** Shop name. */
    name: text().describe('Shop name.'),
    /** Business licence number (营业执照 / 统一社会信用代码). */
    licence: text().optional().describe('Business licence number.'),
  })
  .describe('Who the violation is charged to (door_front: the shop).');

export const ticketEvidenceV1 = z
  .strictObject({
    /** File name in the evidence package, e.g. "confirm.jpg". */
    name: text().describe('File name within the evidence package.'),
    /** Where the squad fetches it. */
    uri: z.string().min(1).max(2000).describe('URI of the file.'),
    /** sha256 of the file's bytes, lowercase hex: checked against the package manifest. */
    sha256: sha256.describe('sha256 of the file, lowercase hex.'),
  })
  .describe('One evidence file.');

export const ticketActionV1 = z
  .strictObject({
    /**
     * educate_and_correct: first offence in 12 months — educate and order correction (首违免罚, no penalty);
     * open_case: a repeat — open an enforcement case (立案).
     */
    action: z.enum(RECOMMENDED_ACTIONS).describe('educate_and_correct (首违免罚) for a first offence in 12 months; open_case for a repeat.'),
    /** The action in Chinese, for the squad's screen. */
    label: text().describe('The action in Chinese.'),
    /** Offences of the same subject (shop, or place) in the 12 months before this one. */
    priorOffences12m: z.number().int().min(0).describe('Earlier offences of the subject in the last 12 months.'),
  })
  .describe('Recommended action from the subject\'s history.');

/** A ticket: what a squad receives for one incident. */
export const ticketV1 = z
  .strictObject({
    /** Always "streetwatch.ticket/1". */
    schema: z.literal(TICKET_SCHEMA_ID).describe('Schema id and version.'),
    /** The incident id: the idempotency key; a re-sent ticket has the same id. */
    ticketId: z.string().min(1).max(128).describe('Ticket id (= incident id); the idempotency key.'),
    /** When this ticket was built. */
    issuedAt: isoTime().describe('When the ticket was issued.'),
    violation: ticketViolationV1,
    place: ticketPlaceV1,
    /** The squad (中队) the ticket is for; also the Kafka message key. */
    squad: z.strictObject({ id: text().describe('Squad id.'), name: text().describe('Squad name (中队).') }).describe('Receiving squad.'),
    /** The violation's subject; present for door_front, and for other violations tied to a shop. */
    subject: ticketSubjectV1.optional(),
    /** First sighting of the violation. */
    firstSeen: isoTime().describe('First sighting.'),
    /** When the violation had lasted its rule's dwell and became an incident. */
    confirmedAt: isoTime().describe('When the violation was confirmed (dwell reached).'),
    /** Seconds the violation had been observed when the ticket was issued. */
    dwellSec: z.number().min(0).describe('Seconds observed.'),
    /** Evidence files (stills, clip, manifest), each with its sha256. At least one. */
    evidence: z.array(ticketEvidenceV1).min(1).describe('Evidence files with their sha256.'),
    /** high | normal | low. */
    priority: z.enum(PRIORITIES).describe('Priority: high, normal or low.'),
    /** Handle by (处置时限). */
    deadline: isoTime().describe('Deadline to handle the ticket (处置时限).'),
    recommendedAction: ticketActionV1,
    /** The earlier incident this one repeats (reopened after it was resolved), if any. */
    recurrenceOf: z.string().min(1).max(128).optional().describe('Incident id this one is a recurrence of.'),
  })
  .describe('A streetwatch enforcement ticket, version 1.');

/**
 * A status update from a squad. Unknown extra fields are ignored (not rejected), so a squad system that adds
 * its own fields keeps working; everything listed here is checked, and a message that fails goes to the
 * dead-letter topic with the reason.
 */
export const ticketStatusV1 = z
  .object({
    /** Always "streetwatch.ticket-status/1". */
    schema: z.literal(TICKET_STATUS_SCHEMA_ID).describe('Schema id and version.'),
    /** The ticket (= incident) id. */
    ticketId: z.string().min(1).max(128).describe('Ticket id.'),
    /**
     * accepted: the squad took the ticket; on_site: an officer is there; resolved: handled (corrected or case
     * opened); rejected_false_positive: there was no violation (feeds detector evaluation).
     */
    status: z.enum(TICKET_STATUSES).describe('accepted, on_site, resolved or rejected_false_positive.'),
    /**
     * Squad id of the sender: must be the squad that holds the ticket (its squad.id, the new one after a
     * re-dispatch), else the report is dead-lettered (not_ticket_holder). It is a claim, not an
     * authentication: Kafka ACLs on the topic decide who may write (console/API.md).
     */
    squad: z.string().min(1).max(64).describe('Squad id of the sender: must be the squad holding the ticket, else the report is dead-lettered. A claim, not an authentication: protect the topic with Kafka ACLs.'),
    /** When the status changed, ISO 8601 with offset. */
    at: isoTime().describe('When the status changed (ISO 8601 with offset).'),
    /** Free text, e.g. why a ticket was rejected. */
    note: z.string().max(2000).optional().describe('Free text.'),
    /** Officer id (执法证号) of who reported it. */
    officer: z.string().min(1).max(64).optional().describe('Officer id.'),
  })
  .describe('A squad\'s status update for a streetwatch ticket, version 1.');

export type TicketV1 = z.infer<typeof ticketV1>;
export type TicketStatusV1 = z.infer<typeof ticketStatusV1>;
export type TicketStatus = (typeof TICKET_STATUSES)[number];
export type RecommendedAction = (typeof RECOMMENDED_ACTIONS)[number];
