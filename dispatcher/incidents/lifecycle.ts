import { OPEN_STATES, type Incident, type IncidentState, type TicketStatus } from './types.js';

/**
 * The incident state a squad's status report leads to, or undefined when it changes nothing. States only move
 * forward, so a status delivered twice or late (Kafka delivers at least once, partitions reorder across
 * squads) never moves an incident back: `accepted` after `resolved` is ignored.
 */
const RANK: Record<IncidentState, number> = { confirmed: 0, dispatched: 1, acknowledged: 2, resolved: 3, rejected: 3 };
const TARGET: Record<TicketStatus, IncidentState> = { accepted: 'acknowledged', on_site: 'acknowledged', resolved: 'resolved', rejected_false_positive: 'rejected' };

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
