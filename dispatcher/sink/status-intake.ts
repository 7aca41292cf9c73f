import type { Logger } from '../../core/log.js';
import { parseStatus, type StatusRejectKind } from '../ticket/status.js';
import { deadLetter } from './dlq.js';
import type { StatusHandler, StatusMessageMeta, StatusRefusal, TicketSink } from './sink.js';

/**
 * One status message, whatever the transport: validate; hand a valid one to the handler; send a malformed one,
 * or one the handler refuses (not the ticket's squad, unknown ticket, backwards), to the dead-letter topic,
 * count it and go on. The dead letter is published (and acknowledged) before the function resolves, so the
 * source may commit the message's offset afterwards without losing it.
 */

export interface StatusIntakeDeps {
  handler: StatusHandler;
  /** Publishes the dead letter (the ticket sink: one producer per process). */
  dlq: Pick<TicketSink, 'publish'>;
  dlqTopic: string;
  /** Called once per malformed message, e.g. `(kind) => counter.inc({ reason: kind })`. */
  onMalformed?: (kind: StatusRejectKind, meta: StatusMessageMeta) => void;
  /** Called once per well-formed message the handler refused, e.g. `(kind) => counter.inc({ reason: kind })`. */
  onRefused?: (kind: StatusRefusal['refused'], meta: StatusMessageMeta) => void;
  log?: Logger;
}

export type IntakeOutcome = 'handled' | 'dead_lettered';

export async function intakeStatus(raw: Uint8Array | string | null | undefined, meta: StatusMessageMeta, deps: StatusIntakeDeps): Promise<IntakeOutcome> {
  const parsed = parseStatus(raw);
  if (parsed.ok) {
    const refusal = await deps.handler(parsed.status, meta);
    if (!refusal) return 'handled';
    const reason = `${refusal.refused}: ${refusal.reason}`;
    await deps.dlq.publish([deadLetter(raw, meta, reason, deps.dlqTopic)]);
    deps.onRefused?.(refusal.refused, meta);
    deps.log?.warn({ topic: meta.topic, partition: meta.partition, offset: meta.offset, ticket: parsed.status.ticketId, squad: parsed.status.squad, reason }, 'ticket-status message refused and sent to the dead-letter topic; nothing changed');
    return 'dead_lettered';
  }
  await deps.dlq.publish([deadLetter(raw, meta, parsed.reason, deps.dlqTopic)]);
  deps.onMalformed?.(parsed.kind, meta);
  // The reason only: the content may be anything a squad system sent, and it is in the dead-letter topic.
  deps.log?.warn({ topic: meta.topic, partition: meta.partition, offset: meta.offset, reason: parsed.reason }, 'malformed ticket-status message sent to the dead-letter topic');
  return 'dead_lettered';
}
