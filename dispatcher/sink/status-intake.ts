import type { Logger } from '../../core/log.js';
import { parseStatus, type StatusRejectKind } from '../ticket/status.js';
import { deadLetter } from './dlq.js';
import type { StatusHandler, StatusMessageMeta, TicketSink } from './sink.js';

/**
 * One status message, whatever the transport: validate; hand a valid one to the handler; send a malformed one
 * to the dead-letter topic, count it and go on. The dead letter is published (and acknowledged) before the
 * function resolves, so the source may commit the message's offset afterwards without losing it.
 */

export interface StatusIntakeDeps {
  handler: StatusHandler;
  /** Publishes the dead letter (the ticket sink: one producer per process). */
  dlq: Pick<TicketSink, 'publish'>;
  dlqTopic: string;
  /** Called once per malformed message, e.g. `(kind) => counter.inc({ reason: kind })`. */
  onMalformed?: (kind: StatusRejectKind, meta: StatusMessageMeta) => void;
  log?: Logger;
}

export type IntakeOutcome = 'handled' | 'dead_lettered';

export async function intakeStatus(raw: Uint8Array | string | null | undefined, meta: StatusMessageMeta, deps: StatusIntakeDeps): Promise<IntakeOutcome> {
  const parsed = parseStatus(raw);
  if (parsed.ok) {
    await deps.handler(parsed.status, meta);
    return 'handled';
  }
  await deps.dlq.publish([deadLetter(raw, meta, parsed.reason, deps.dlqTopic)]);
  deps.onMalformed?.(parsed.kind, meta);
  // The reason only: the content may be anything a squad system sent, and it is in the dead-letter topic.
  deps.log?.warn({ topic: meta.topic, partition: meta.partition, offset: meta.offset, reason: parsed.reason }, 'malformed ticket-status message sent to the dead-letter topic');
  return 'dead_lettered';
}
