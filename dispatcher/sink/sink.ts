import type { Service } from '../../core/lifecycle.js';
import type { TicketStatusV1 } from '../ticket/schema.js';

/**
 * Our own transport interfaces. kafkajs is in maintenance mode; everything above this file speaks only these
 * interfaces, so replacing it (or running without brokers: memory.ts) touches one module.
 */

/** One message to publish. `value` is the serialized JSON; `key` decides the partition (tickets: squad id). */
export interface OutMessage {
  topic: string;
  key: string;
  value: string;
  headers?: Record<string, string>;
}

export interface TicketSink extends Service {
  /**
   * Publishes the messages. Resolves only after the broker acknowledged every one of them (acks from all
   * in-sync replicas); rejects with a retriable StreetwatchError otherwise, and the caller keeps them to retry
   * (the producer is idempotent, so a retry after an ambiguous failure writes no duplicate in a session).
   */
  publish(msgs: readonly OutMessage[]): Promise<void>;
}

/** Where a status message came from (for the dead-letter wrapper and logs). */
export interface StatusMessageMeta {
  topic: string;
  partition: number;
  /** Kafka offsets are 64-bit: a decimal string. */
  offset: string;
  key?: string;
}

/**
 * The handler's refusal of a well-formed status it must not apply: a report from a squad that does not hold
 * the ticket, for a ticket never issued, or one that would move the ticket backwards. The message's content
 * is no authentication (anyone who can write the topic can claim any squad): the topic's ACLs decide who may
 * write, this decides whether what was written may change a ticket. A refused message is dead-lettered.
 */
export interface StatusRefusal {
  refused: 'unknown_ticket' | 'not_ticket_holder' | 'not_forward';
  reason: string;
}

/**
 * Receives a validated status. The message counts as handled when the promise resolves: with nothing (applied,
 * or a duplicate), or with a refusal (then it goes to the dead-letter topic). A rejection leaves it
 * unconsumed, to be delivered again (so nothing accepted is lost).
 */
export type StatusHandler = (status: TicketStatusV1, meta: StatusMessageMeta) => Promise<StatusRefusal | void>;

export interface StatusSource extends Service {
  /** Sets the handler; call before start(). Malformed messages never reach it: they go to the dead-letter topic. */
  onMessage(handler: StatusHandler): void;
}
