import { StreetwatchError } from '../../core/errors.js';
import type { OutMessage, TicketSink } from './sink.js';

/**
 * The embedded mode's sink (no `dispatch.kafka`): the squads' inbox is the console, which reads tickets from
 * the store, so a ticket is delivered once it is written there. Acknowledging at once lets the outbox relay
 * mark it sent and the incident dispatched, as with Kafka; nothing is kept here (unlike MemoryTicketSink,
 * which keeps every message for tests).
 */
export class ConsoleInboxSink implements TicketSink {
  private running = false;
  /** Messages acknowledged so far (a count, for tests and logs). */
  delivered = 0;

  async start(): Promise<void> {
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
  }

  async publish(msgs: readonly OutMessage[]): Promise<void> {
    if (!this.running) throw new StreetwatchError('SINK_NOT_STARTED', 'the console inbox sink is not started; call start() first');
    this.delivered += msgs.length;
  }
}
