// A real Kafka broker (scripts/kafka-local) with kafkajs: keyed produce with an idempotent producer, a consumer
// group reading every message exactly once, and the data surviving a SIGKILL and restart of the broker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin, Consumer, Producer } from 'kafkajs';
import {
  createAdmin,
  createConsumer,
  createProducer,
  kafkaClient,
  startKafka,
  uniqueGroup,
  uniqueTopic,
  type KafkaBroker,
} from '../helpers/kafka.js';
import { sleep, waitFor } from '../helpers/wait.js';

interface Received {
  key: string;
  value: string;
  partition: number;
  offset: string;
}

/** Consumes `topic` from the beginning in a fresh group until `count` messages arrived, then a short quiet spell. */
async function consumeAll(brokers: string[], topic: string, count: number, timeoutMs = 30_000): Promise<Received[]> {
  const consumer: Consumer = createConsumer(brokers, uniqueGroup('kafka-broker-test'));
  const got: Received[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        got.push({
          key: message.key?.toString() ?? '',
          value: message.value?.toString() ?? '',
          partition,
          offset: message.offset,
        });
      },
    });
    await waitFor(() => got.length >= count, timeoutMs, `${count} messages on ${topic} (got ${got.length})`);
    // a duplicate would arrive right behind the rest: give it a moment to show up
    await sleep(500);
    return got;
  } finally {
    await consumer.disconnect();
  }
}

describe('real Kafka broker (scripts/kafka-local)', () => {
  let kafka: KafkaBroker;
  let admin: Admin | undefined;
  let producer: Producer | undefined;
  const topic = uniqueTopic('kafka-broker');
  const sent = Array.from({ length: 20 }, (_, i) => ({ key: `cam-${i % 7}-${i}`, value: `ticket-${i}` }));

  beforeAll(async () => {
    // own broker, always: this test kills and restarts it
    kafka = await startKafka({ own: true });
  }, 90_000);

  afterAll(async () => {
    await producer?.disconnect().catch(() => {});
    await admin?.disconnect().catch(() => {});
    await kafka?.stop();
  }, 60_000);

  it('creates a 3-partition topic, produces 20 keyed messages idempotently, consumes each exactly once', async () => {
    admin = createAdmin(kafka.brokers);
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })).toBe(true);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]?.partitions).toHaveLength(3);

    producer = createProducer(kafka.brokers);
    await producer.connect();
    const results = await producer.send({ topic, acks: -1, messages: sent });
    expect(results.every((r) => r.errorCode === 0)).toBe(true);

    const got = await consumeAll(kafka.brokers, topic, sent.length);
    expect(got).toHaveLength(sent.length);
    expect(got.map((m) => `${m.key}=${m.value}`).sort()).toEqual(sent.map((m) => `${m.key}=${m.value}`).sort());
    // keyed: more than one partition used, and each key stays on one partition
    expect(new Set(got.map((m) => m.partition)).size).toBeGreaterThan(1);
  }, 60_000);

  it('keeps the messages across a SIGKILL and restart, and accepts new ones', async () => {
    await producer?.disconnect();
    producer = undefined;
    await admin?.disconnect();
    admin = undefined;

    await kafka.kill();
    await kafka.restart();

    const late = { key: 'cam-after-restart', value: 'ticket-after-restart' };
    const p = createProducer(kafkaClient(kafka.brokers));
    producer = p;
    await p.connect();
    await p.send({ topic, acks: -1, messages: [late] });

    const got = await consumeAll(kafka.brokers, topic, sent.length + 1);
    expect(got.map((m) => `${m.key}=${m.value}`).sort()).toEqual(
      [...sent, late].map((m) => `${m.key}=${m.value}`).sort(),
    );
  }, 90_000);
});
