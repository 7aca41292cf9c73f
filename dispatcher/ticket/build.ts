import {
  DEFAULT_DEADLINE_HOURS,
  DEFAULT_PRIORITY,
  PRIORITIES,
  type CodeTable,
  type DeadlineHoursConfig,
  type DispatchConfig,
  type Priority,
  type PriorityConfig,
  type RoutingConfig,
} from '../../config/dispatch.js';
import type { RuleId } from '../../config/zones.js';
import { StreetwatchError } from '../../core/errors.js';
import { violationCode } from './codes.js';
import { resolveRoute } from './routing.js';
import { TICKET_SCHEMA_ID, ticketV1, type RecommendedAction, type TicketV1 } from './schema.js';
import { isoInZone } from '../../core/time.js';

/**
 * Incident → ticket, as a pure function: same input and context, same ticket (the clock is `ctx.now`), so a
 * re-sent ticket is byte-identical apart from issuedAt and tests need no fakes.
 */

/** What the incident stage hands to dispatch: the minimum a ticket needs. */
export interface TicketInput {
  incidentId: string;
  type: RuleId;
  cameraId: string;
  cameraName?: string;
  /** The camera's location.jurisdiction, if configured (routing). */
  cameraJurisdiction?: string;
  address?: string;
  lat?: number;
  lon?: number;
  zoneId: string;
  /** The zone's shop (shopfront zones); required for door_front. */
  shop?: { id: string; name: string; licence?: string };
  firstSeenMs: number;
  confirmedMs: number;
  dwellSec: number;
  evidence: { uri: string; sha256: string; name: string }[];
  /** The incident this one reopens after it was resolved. */
  recurrenceOf?: string;
  /** Offences of the same subject (the shop; else the same place and violation) in the 12 months before. */
  priorOffences12m: number;
}

export interface TicketContext {
  codeTable: CodeTable;
  routing: RoutingConfig;
  /** IANA zone the ticket's times are written in (the deployment's, e.g. Asia/Shanghai). */
  timezone: string;
  /** Epoch ms: the ticket's issuedAt. */
  now: number;
  /** Default: DEFAULT_DEADLINE_HOURS. */
  deadlineHours?: DeadlineHoursConfig;
  /** Default: DEFAULT_PRIORITY, repeats raised. */
  priority?: PriorityConfig;
}

/** The context from a loaded dispatch config. */
export function ticketContext(dispatch: DispatchConfig, timezone: string, now: number): TicketContext {
  return { codeTable: dispatch.codeTable, routing: dispatch.routing, timezone, now, deadlineHours: dispatch.deadlineHours, priority: dispatch.priority };
}

/**
 * A repeat is a recurrence of a resolved incident or a subject with earlier offences in 12 months. It is
 * what the recommended action and the priority raise both key on.
 */
function isRepeat(input: Pick<TicketInput, 'priorOffences12m' | 'recurrenceOf'>): boolean {
  return input.priorOffences12m > 0 || input.recurrenceOf !== undefined;
}

/**
 * Priority: the configured base per violation (default stall high — a vendor moves on within the hour —
 * door_front and stacking normal), raised one level for a repeat when priority.raiseRepeat (default true).
 */
export function ticketPriority(input: Pick<TicketInput, 'type' | 'priorOffences12m' | 'recurrenceOf'>, cfg?: PriorityConfig): Priority {
  const base = cfg?.[input.type] ?? DEFAULT_PRIORITY[input.type];
  const raise = (cfg?.raiseRepeat ?? true) && isRepeat(input);
  const i = PRIORITIES.indexOf(base);
  return raise ? PRIORITIES[Math.max(0, i - 1)]! : base;
}

/** Deadline (处置时限): confirmation time + deadlineHours of the violation (defaults 2 h stall, 24 h door_front, 12 h stacking). */
export function ticketDeadlineMs(input: Pick<TicketInput, 'type' | 'confirmedMs'>, hours?: DeadlineHoursConfig): number {
  return input.confirmedMs + (hours?.[input.type] ?? DEFAULT_DEADLINE_HOURS[input.type]) * 3_600_000;
}

const ACTION_LABELS: Record<RecommendedAction, string> = {
  educate_and_correct: '首违免罚：教育劝导，责令改正',
  open_case: '再次违法：立案查处',
};

/**
 * The recommended action follows the subject's history, not the recurrence flag: 首违免罚 (no penalty for a
 * first offence that is corrected) applies when the subject has no offence in the last 12 months.
 */
export function recommendedAction(priorOffences12m: number): RecommendedAction {
  return priorOffences12m === 0 ? 'educate_and_correct' : 'open_case';
}

export function buildTicket(input: TicketInput, ctx: TicketContext): TicketV1 {
  const bad = (why: string) =>
    new StreetwatchError('TICKET_INVALID', `incident '${input.incidentId}': ${why}; the ticket is not sent`, { details: { incident: input.incidentId } });
  if (!Number.isInteger(input.priorOffences12m) || input.priorOffences12m < 0) throw bad(`priorOffences12m must be a whole number ≥ 0, got ${input.priorOffences12m}`);
  if (input.type === 'door_front' && input.shop === undefined) throw bad('a door_front ticket needs the shop (its subject); the zone has none');
  if (input.confirmedMs < input.firstSeenMs) throw bad('confirmed before it was first seen');

  const route = resolveRoute(ctx.routing, { cameraId: input.cameraId, zoneId: input.zoneId, cameraJurisdiction: input.cameraJurisdiction });
  const code = violationCode(ctx.codeTable, input.type);
  const at = (ms: number) => isoInZone(ms, ctx.timezone);
  const action = recommendedAction(input.priorOffences12m);

  const ticket: TicketV1 = {
    schema: TICKET_SCHEMA_ID,
    ticketId: input.incidentId,
    issuedAt: at(ctx.now),
    violation: { type: input.type, code: code.code, name: code.name, standard: code.standard, codeConfirmed: code.confirmed },
    place: {
      cameraId: input.cameraId,
      ...(input.cameraName !== undefined && { cameraName: input.cameraName }),
      zoneId: input.zoneId,
      ...(input.address !== undefined && { address: input.address }),
      ...(input.lat !== undefined && { lat: input.lat }),
      ...(input.lon !== undefined && { lon: input.lon }),
      ...(route.jurisdiction && { jurisdiction: { id: route.jurisdiction.id, name: route.jurisdiction.name } }),
    },
    squad: { id: route.squad.id, name: route.squad.name },
    ...(input.shop && {
      subject: { kind: 'shop' as const, id: input.shop.id, name: input.shop.name, ...(input.shop.licence !== undefined && { licence: input.shop.licence }) },
    }),
    firstSeen: at(input.firstSeenMs),
    confirmedAt: at(input.confirmedMs),
    dwellSec: input.dwellSec,
    evidence: input.evidence.map((e) => ({ name: e.name, uri: e.uri, sha256: e.sha256 })),
    priority: ticketPriority(input, ctx.priority),
    deadline: at(ticketDeadlineMs(input, ctx.deadlineHours)),
    recommendedAction: { action, label: ACTION_LABELS[action], priorOffences12m: input.priorOffences12m },
    ...(input.recurrenceOf !== undefined && { recurrenceOf: input.recurrenceOf }),
  };

  // The published schema is the last word: a ticket that would fail a squad's validator is never sent.
  const checked = ticketV1.safeParse(ticket);
  if (!checked.success) {
    throw bad(checked.error.issues.map((i) => `${i.path.join('.') || '(ticket)'}: ${i.message}`).join('; '));
  }
  return checked.data;
}
