import { OPEN_STATES, type Incident, type IncidentState, type TicketStatus } from './types.js';

/**
 * The incident state a squad's status report leads to, or undefined when it changes nothing. States only move
 * forward, so a status delivered twice or late (Kafka delivers at least once, partitions reorder across
 * squads) never moves an incident back: `accepted` after `resolved` is ignored.
 */
const RANK: Record<IncidentState, number> = { confirmed: 0, dispatched: 1, acknowledged: 2, on_site: 3, resolved: 4, rejected: 4 };
const TARGET: Record<TicketStatus, IncidentState> = { accepted: 'acknowledged', on_site: 'on_site', resolved: 'resolved', rejected_false_positive: 'rejected' };

export function nextState(current: IncidentState, status: TicketStatus): IncidentState | undefined {
  const target = TARGET[status];
  return RANK[target] > RANK[current] ? target : undefined;
}

/** The ticket was acknowledged by the broker: confirmed → dispatched (a later state stays). */
export function markDispatched(inc: Incident, nowMs: number): Incident {
  return inc.state === 'confirmed' ? { ...inc, state: 'dispatched', updatedMs: nowMs } : inc;
}

export function applyStatus(inc: Incident, status: TicketStatus, atMs: number, nowMs: number): Incident | undefined {
  const state = nextState(inc.state, status);
  if (!state) return undefined;
  const closing = OPEN_STATES.has(inc.state) && !OPEN_STATES.has(state);
  return { ...inc, state, updatedMs: nowMs, ...(closing ? { closedMs: atMs } : {}) };
}

/**
 * Operator actions from the console. Unlike squad reports they may move an incident back: an operator who
 * reviews the evidence overrules (a resolved incident can still be found a false positive; a rejected one can
 * be re-dispatched). Each returns undefined when the action changes nothing, so the caller answers 409.
 */
export function operatorReject(inc: Incident, by: string, note: string | undefined, nowMs: number): Incident | undefined {
  if (inc.state === 'rejected') return undefined;
  return { ...inc, state: 'rejected', updatedMs: nowMs, closedMs: inc.closedMs ?? nowMs, resolution: { status: 'rejected_false_positive', by, ...(note ? { note } : {}), atMs: nowMs } };
}

/** Closes an open incident as handled (e.g. settled by phone, or a duplicate the squad need not visit). */
export function operatorClose(inc: Incident, by: string, note: string | undefined, nowMs: number): Incident | undefined {
  if (!OPEN_STATES.has(inc.state)) return undefined;
  return { ...inc, state: 'resolved', updatedMs: nowMs, closedMs: nowMs, resolution: { status: 'closed', by, ...(note ? { note } : {}), atMs: nowMs } };
}

/** Re-issuing the ticket reopens the incident: confirmed until the broker acknowledges the new ticket. */
export function reopenForRedispatch(inc: Incident, nowMs: number): Incident {
  const { closedMs: _c, resolution: _r, ...rest } = inc;
  return { ...rest, state: 'confirmed', updatedMs: nowMs, redispatches: (inc.redispatches ?? 0) + 1 };
}
