import type { Config } from '../config/schema.js';
import { StreetwatchError } from '../core/errors.js';
import { isoInZone } from '../core/time.js';
import type { IncidentStore } from '../dispatcher/incidents/store.js';
import { nextState } from '../dispatcher/incidents/lifecycle.js';
import type { Incident } from '../dispatcher/incidents/types.js';
import { ticketMessage } from '../dispatcher/sink/messages.js';
import { ticketDeadlineMs } from '../dispatcher/ticket/build.js';
import { TICKET_STATUS_SCHEMA_ID, TICKET_STATUSES, ticketStatusV1, ticketV1, type TicketStatus } from '../dispatcher/ticket/schema.js';
import type { Principal } from './auth.js';

/**
 * What people do in the console, applied to the store in one transaction each:
 * - operators (command, admin): mark a false positive, re-dispatch, close;
 * - squads: report a ticket's status. With Kafka configured the report is published on the ticket-status
 *   topic through the outbox (the same way a squad's own app would report, so the loop is the one every squad
 *   uses); without Kafka it is applied to the store directly.
 */

export interface ActionDeps {
  store: IncidentStore;
  config: () => Config;
  now: () => number;
  /** Publish outbox rows now instead of at the relay's next poll (absent when this process has no relay). */
  wakeRelay?: () => void;
}

const conflict = (msg: string) => new StreetwatchError('CONSOLE_CONFLICT', msg);
const notFound = (id: string) => new StreetwatchError('CONSOLE_NOT_FOUND', `no incident ${id}`);

function note(body: unknown): string | undefined {
  const n = (body as { note?: unknown } | undefined)?.note;
  if (n === undefined || n === null || n === '') return undefined;
  if (typeof n !== 'string' || n.length > 2000) throw new StreetwatchError('CONSOLE_BAD_REQUEST', 'note must be text of at most 2000 characters');
  return n;
}

export function operatorAction(d: ActionDeps, p: Principal, id: string, action: 'false_positive' | 'close', body: unknown): Incident {
  const r = d.store.operatorAction(id, action, p.name, note(body), d.now());
  if (r === 'not_found') throw notFound(id);
  if (r === 'no_change') throw conflict(action === 'close' ? `incident ${id} is not open; only confirmed, dispatched, acknowledged or on-site incidents can be closed` : `incident ${id} is already marked a false positive`);
  return r;
}

/**
 * Re-issues the incident's ticket: same ticket id (squads' systems treat a newer `issuedAt` as an update),
 * now's issue time and a new deadline counted from now, to the squad named or the same one.
 */
export function redispatch(d: ActionDeps, p: Principal, id: string, body: unknown): Incident {
  const cfg = d.config();
  const dispatch = cfg.dispatch;
  if (!dispatch) throw new StreetwatchError('CONSOLE_UNAVAILABLE', 'this config has no dispatch section (no squads to dispatch to); add dispatch.routing');
  const inc = d.store.get(id);
  if (!inc) throw notFound(id);
  const row = d.store.ticket(id);
  if (!row) throw conflict(`incident ${id} has no ticket yet (its evidence is still being packaged, or packaging failed); wait a moment or check the log`);
  const want = (body as { squad?: unknown } | undefined)?.squad;
  if (want !== undefined && typeof want !== 'string') throw new StreetwatchError('CONSOLE_BAD_REQUEST', 'squad must be a squad id');
  const old = ticketV1.parse(row.ticket);
  const squad = want === undefined ? old.squad : dispatch.routing.squads.find((s) => s.id === want);
  if (!squad) throw new StreetwatchError('CONSOLE_BAD_REQUEST', `no squad '${String(want)}' in dispatch.routing.squads (${dispatch.routing.squads.map((s) => s.id).join(', ')})`);
  const now = d.now();
  const tz = cfg.site.timezone;
  const ticket = ticketV1.parse({
    ...old,
    issuedAt: isoInZone(now, tz),
    squad: { id: squad.id, name: squad.name },
    deadline: isoInZone(ticketDeadlineMs({ type: inc.type, confirmedMs: now }, dispatch.deadlineHours), tz),
  });
  const msg = ticketMessage(ticket, dispatch.kafka?.topics.tickets ?? 'streetwatch.tickets');
  const r = d.store.redispatch(id, { squad: msg.key, ticket, topic: msg.topic, ...(msg.headers ? { headers: msg.headers } : {}) }, p.name, note(body), now);
  if (r === 'not_found') throw notFound(id);
  d.wakeRelay?.();
  return r;
}

export function squadStatus(d: ActionDeps, p: Principal, id: string, body: unknown): { via: 'kafka' | 'local'; incident: Incident } {
  const status = (body as { status?: unknown } | undefined)?.status;
  if (typeof status !== 'string' || !(TICKET_STATUSES as readonly string[]).includes(status)) {
    throw new StreetwatchError('CONSOLE_BAD_REQUEST', `status must be one of ${TICKET_STATUSES.join(', ')}`);
  }
  const inc = d.store.get(id);
  const row = d.store.ticket(id);
  if (!inc || !row || row.squad !== p.squad) throw notFound(id);
  const now = d.now();
  const cfg = d.config();
  const kafka = cfg.dispatch?.kafka;
  const text = note(body);
  // Refused here rather than dead-lettered later, so the squad gets its answer now (the store checks again).
  if (!nextState(inc.state, status as TicketStatus)) throw conflict(`incident ${id} is ${inc.state}; '${status}' would not move it forward`);
  if (kafka) {
    const value = ticketStatusV1.parse({ schema: TICKET_STATUS_SCHEMA_ID, ticketId: id, status, squad: p.squad, at: isoInZone(now, cfg.site.timezone), ...(text ? { note: text } : {}) });
    d.store.enqueueMessage({ topic: kafka.topics.ticketStatus, key: p.squad!, value: JSON.stringify(value), headers: { schema: TICKET_STATUS_SCHEMA_ID, kind: 'ticket-status' } }, now);
    d.wakeRelay?.();
    return { via: 'kafka', incident: inc };
  }
  const r = d.store.applyStatus({ ticketId: id, status: status as TicketStatus, atMs: now, squad: p.squad! }, now);
  if (typeof r === 'object') throw r.refused === 'not_forward' ? conflict(r.reason) : notFound(id);
  if (text) d.store.recordEvent(id, 'note', now, `squad:${p.squad}`, text);
  return { via: 'local', incident: d.store.get(id)! };
}
