import type { Config } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { ConsoleInboxSink } from './sink/inbox.js';
import { KafkaStatusSource, KafkaTicketSink } from './sink/kafka.js';
import type { StatusSource, TicketSink } from './sink/sink.js';

/**
 * The transport the config asks for: Kafka when `dispatch.kafka` lists brokers; otherwise (embedded) the
 * console is the squads' inbox, so tickets count as delivered once stored (ConsoleInboxSink) and squads report
 * through the console. The status source dead-letters through the ticket sink's producer (one producer per
 * process).
 */
export function createTransport(config: Config, baseDir: string, log: Logger, metrics?: Metrics): { sink?: TicketSink; status?: StatusSource } {
  const kafka = config.dispatch?.kafka;
  if (!kafka) return config.dispatch ? { sink: new ConsoleInboxSink() } : {};
  const sink = new KafkaTicketSink(kafka, { baseDir, logger: log });
  const counted = metrics && {
    onMalformed: (reason: string) => metrics.statusMalformed.inc({ reason }),
    onRefused: (reason: string) => metrics.statusRefused.inc({ reason }),
  };
  const status = new KafkaStatusSource(kafka, { baseDir, logger: log, dlq: sink, ...counted });
  return { sink, status };
}
