import { Kafka, Partitioners, type Admin, type Consumer, type Producer } from 'kafkajs';
import type { KafkaConfig } from '../../config/dispatch.js';
import { StreetwatchError, isStreetwatchError } from '../../core/errors.js';
import { once } from '../../core/lifecycle.js';
import type { Logger } from '../../core/log.js';
import { kafkaClientConfig, type KafkaConnectOptions } from './kafka-options.js';
import { intakeStatus, type StatusIntakeDeps } from './status-intake.js';
import type { OutMessage, StatusHandler, StatusSource, TicketSink } from './sink.js';

/**
 * The Kafka transport (kafkajs 2.2.4) behind TicketSink and StatusSource.
 *
 * Delivery: the producer is idempotent with one request in flight, and every send waits for acks from all
 * in-sync replicas (acks -1), so publish() resolving means the tickets survive a broker loss and a retried
 * publish writes no duplicates within the producer session. Across sessions the ticket id (= incident id) is
 * the idempotency key the squads deduplicate on.
 *
 * Topics are created at start with the configured partitions and replication; creating a topic that exists is
 * a no-op, so every process may do it. Topic auto-creation by the broker is not relied on (it would use the
 * broker's defaults, not ours).
 */

/** The part of a kafkajs client we use (tests pass a fake). */
export type KafkaClient = Pick<Kafka, 'admin' | 'producer' | 'consumer'>;

export interface KafkaSinkOptions extends KafkaConnectOptions {
  /** Topics to create at start. Default: tickets, ticket-status and dlq. */
  topics?: string[];
  /** A ready client instead of one built from the config (tests). */
  client?: KafkaClient;
}

export function clientFor(cfg: KafkaConfig, opts: KafkaConnectOptions & { client?: KafkaClient }): KafkaClient {
  return opts.client ?? new Kafka(kafkaClientConfig(cfg, opts));
}

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** True when every error in a (possibly aggregate) kafkajs error is TOPIC_ALREADY_EXISTS: a race with another process. */
function onlyTopicExists(e: unknown): boolean {
  const x = e as { type?: unknown; errors?: unknown };
  if (Array.isArray(x?.errors) && x.errors.length > 0) return x.errors.every(onlyTopicExists);
  return x?.type === 'TOPIC_ALREADY_EXISTS';
}

/** How ensureTopics makes a topic: `configKey` names the setting of its partitions in warnings. */
export interface TopicSpec {
  configKey?: string;
  /** Topic-level settings, e.g. cleanup.policy=compact for the camera registry. */
  configEntries?: { name: string; value: string }[];
}

/**
 * Creates the topics that do not exist yet (partitions and replication from the config) and warns about an
 * existing topic with fewer partitions than configured: kafkajs never shrinks or grows a topic on its own.
 */
export async function ensureTopics(
  admin: Admin,
  cfg: Pick<KafkaConfig, 'partitions' | 'replicationFactor'>,
  topics: readonly string[],
  log?: Logger,
  spec: TopicSpec = {},
): Promise<void> {
  const unique = [...new Set(topics)];
  if (unique.length === 0) return;
  try {
    // only the missing ones: asking for an existing topic makes kafkajs log a CreateTopics error at every start
    const existing = new Set(await admin.listTopics());
    const missing = unique.filter((t) => !existing.has(t));
    if (missing.length) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: cfg.partitions,
          ...(cfg.replicationFactor !== undefined && { replicationFactor: cfg.replicationFactor }),
          ...(spec.configEntries && { configEntries: spec.configEntries }),
        })),
      });
    }
  } catch (e) {
    if (!onlyTopicExists(e)) {
      throw new StreetwatchError('KAFKA_TOPICS_FAILED', `cannot create Kafka topics ${unique.join(', ')}: ${describe(e)}`, { cause: e, retriable: true, details: { topics: unique } });
    }
  }
  let meta: Awaited<ReturnType<Admin['fetchTopicMetadata']>>;
  try {
    meta = await admin.fetchTopicMetadata({ topics: unique });
  } catch (e) {
    throw new StreetwatchError('KAFKA_TOPICS_FAILED', `cannot read the metadata of Kafka topics ${unique.join(', ')}: ${describe(e)}`, { cause: e, retriable: true, details: { topics: unique } });
  }
  for (const t of meta.topics) {
    if (t.partitions.length < cfg.partitions) {
      log?.warn({ topic: t.name, partitions: t.partitions.length, configured: cfg.partitions }, `Kafka topic ${t.name} has ${t.partitions.length} partitions, ${spec.configKey ?? 'dispatch.kafka.partitions'} says ${cfg.partitions}; existing topics are not changed`);
    }
  }
}

export async function withAdmin<T>(client: KafkaClient, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = client.admin();
  try {
    await admin.connect();
  } catch (e) {
    throw new StreetwatchError('KAFKA_CONNECT_FAILED', `cannot connect to the Kafka brokers: ${describe(e)}`, { cause: e, retriable: true });
  }
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Producer settings that make publish() mean "stored on all in-sync replicas, once". */
const PRODUCER_CONFIG = {
  idempotent: true,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  // Java-compatible murmur2 partitioning: a squad's key lands on the same partition from any client.
  createPartitioner: Partitioners.DefaultPartitioner,
} as const;

/** acks from all in-sync replicas (required by the idempotent producer). */
export const ACKS_ALL = -1;

export class KafkaTicketSink implements TicketSink {
  private client: KafkaClient | undefined;
  private producer: Producer | undefined;
  private running = false;

  constructor(
    private readonly cfg: KafkaConfig,
    private readonly opts: KafkaSinkOptions,
  ) {}

  async start(): Promise<void> {
    if (this.running) return;
    // Built here, not in the constructor: a missing credential variable is a start failure, reported as such.
    const client = (this.client ??= clientFor(this.cfg, this.opts));
    const topics = this.opts.topics ?? [this.cfg.topics.tickets, this.cfg.topics.ticketStatus, this.cfg.topics.dlq];
    await withAdmin(client, (admin) => ensureTopics(admin, this.cfg, topics, this.opts.logger));
    const producer = client.producer(PRODUCER_CONFIG);
    try {
      await producer.connect();
    } catch (e) {
      throw new StreetwatchError('KAFKA_CONNECT_FAILED', `the Kafka producer cannot connect: ${describe(e)}`, { cause: e, retriable: true });
    }
    this.producer = producer;
    this.running = true;
    this.stopOnce = once(() => this.close());
  }

  async publish(msgs: readonly OutMessage[]): Promise<void> {
    const producer = this.producer;
    if (!this.running || !producer) throw new StreetwatchError('SINK_NOT_STARTED', 'the Kafka ticket sink is not started; call start() first');
    if (msgs.length === 0) return;
    const byTopic = new Map<string, OutMessage[]>();
    for (const m of msgs) byTopic.set(m.topic, [...(byTopic.get(m.topic) ?? []), m]);
    try {
      await producer.sendBatch({
        acks: ACKS_ALL,
        topicMessages: [...byTopic].map(([topic, list]) => ({
          topic,
          messages: list.map((m) => ({ key: m.key, value: m.value, ...(m.headers && { headers: { ...m.headers } }) })),
        })),
      });
    } catch (e) {
      throw new StreetwatchError('KAFKA_PUBLISH_FAILED', `Kafka did not acknowledge ${msgs.length} message(s) to ${[...byTopic.keys()].join(', ')}: ${describe(e)}`, {
        cause: e,
        retriable: true,
        details: { topics: [...byTopic.keys()], count: msgs.length },
      });
    }
  }

  private stopOnce: () => Promise<void> = async () => undefined;

  stop(): Promise<void> {
    return this.stopOnce();
  }

  private async close(): Promise<void> {
    this.running = false;
    const p = this.producer;
    this.producer = undefined;
    await p?.disconnect();
  }
}

export interface KafkaStatusSourceOptions extends KafkaSinkOptions, Omit<StatusIntakeDeps, 'handler' | 'dlqTopic'> {}

/**
 * Consumes ticket-status messages (consumer group dispatch.kafka.statusGroupId). Each message is validated;
 * a valid one goes to the handler, a malformed one to the dead-letter topic (through `dlq`, the ticket sink's
 * producer) with its reason, and consumption goes on. An offset is committed only after its message was
 * handled or dead-lettered; a handler that throws leaves it to be delivered again.
 */
export class KafkaStatusSource implements StatusSource {
  private handler: StatusHandler | undefined;
  private consumer: Consumer | undefined;
  private stopOnce: () => Promise<void> = async () => undefined;

  constructor(
    private readonly cfg: KafkaConfig,
    private readonly opts: KafkaStatusSourceOptions,
  ) {}

  onMessage(handler: StatusHandler): void {
    this.handler = handler;
  }

  get groupId(): string {
    return this.cfg.statusGroupId ?? `${this.cfg.clientId}.ticket-status`;
  }

  async start(): Promise<void> {
    const handler = this.handler;
    if (!handler) throw new StreetwatchError('USAGE', 'KafkaStatusSource: call onMessage(handler) before start()');
    if (this.consumer) return;
    const client = clientFor(this.cfg, this.opts);
    const topic = this.cfg.topics.ticketStatus;
    await withAdmin(client, (admin) => ensureTopics(admin, this.cfg, this.opts.topics ?? [topic, this.cfg.topics.dlq], this.opts.logger));
    const consumer = client.consumer({ groupId: this.groupId, allowAutoTopicCreation: false });
    try {
      await consumer.connect();
      // A new group starts at the beginning: statuses sent while streetwatch was down are not skipped.
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
    } catch (e) {
      await consumer.disconnect().catch(() => undefined);
      throw new StreetwatchError('KAFKA_CONNECT_FAILED', `the ticket-status consumer cannot start on ${topic}: ${describe(e)}`, { cause: e, retriable: true });
    }
    const deps: StatusIntakeDeps = { ...this.opts, handler, dlqTopic: this.cfg.topics.dlq };
    await consumer.run({
      autoCommit: true,
      eachMessage: async ({ topic: t, partition, message }) => {
        const key = message.key === null ? undefined : message.key.toString('utf8');
        try {
          await intakeStatus(message.value, { topic: t, partition, offset: message.offset, ...(key !== undefined && { key }) }, deps);
        } catch (e) {
          // Rethrown: kafkajs retries the message and, past its retries, restarts the consumer from the last commit.
          this.opts.logger?.error({ err: isStreetwatchError(e) ? e.toJSON() : describe(e), topic: t, partition, offset: message.offset }, 'ticket-status message not handled; it will be delivered again');
          throw e;
        }
      },
    });
    this.consumer = consumer;
    this.stopOnce = once(async () => {
      const c = this.consumer;
      this.consumer = undefined;
      await c?.disconnect();
    });
  }

  stop(): Promise<void> {
    return this.stopOnce();
  }
}
