import type { TicketV1 } from '../ticket/schema.js';
import type { OutMessage } from './sink.js';

/**
 * A ticket as a Kafka message: keyed by squad id, so one squad's tickets stay in order on one partition and a
 * squad's consumer can read only its partition's share; headers repeat the schema and ticket id so tools can
 * route and deduplicate without parsing the value.
 */
export function ticketMessage(ticket: TicketV1, topic: string): OutMessage {
  return {
    topic,
    key: ticket.squad.id,
    value: JSON.stringify(ticket),
    headers: { schema: ticket.schema, 'ticket-id': ticket.ticketId },
  };
}
