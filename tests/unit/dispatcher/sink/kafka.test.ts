import type { EachMessagePayload } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { kafkaSchema } from '../../../../config/dispatch.js';
import { ACKS_ALL, KafkaStatusSource, KafkaTicketSink, type KafkaClient } from '../../../../dispatcher/sink/kafka.js';
import { MemoryTicketSink } from '../../../../dispatcher/sink/memory.js';
import { statusReport } from '../../../helpers/factories.js';

/**
 * kafka.ts against a fake kafkajs client: what it asks of kafkajs (producer settings, acks, topic creation,
 * consumer group, offsets after dead-lettering). The real-broker behaviour belongs to the integration tests.
 */

const cfg = kafkaSchema.parse({ brokers: ['127.0.0.1:9092'], topicPrefix: 'hp.', partitions: 4, replicationFactor: 1 });

function fakeClient(opts: { createTopics?: () => Promise<boolean>; sendBatch?: () => Promise<unknown>; existingPartitions?: number; existingTopics?: string[] } = {}) {
  const calls: { what: string; args?: unknown }[] = [];
  let eachMessage: ((p: EachMessagePayload) => Promise<void>) | undefined;
  const admin = {
    connect: vi.fn(async () => void calls.push({ what: 'admin.connect' })),
    disconnect: vi.fn(async () => void calls.push({ what: 'admin.disconnect' })),
    listTopics: vi.fn(async () => opts.existingTopics ?? []),
    createTopics: vi.fn(async (args: unknown) => {
      calls.push({ what: 'createTopics', args });
      return (opts.createTopics ?? (async () => true))();
    }),
    fetchTopicMetadata: vi.fn(async ({ topics }: { topics: string[] }) => ({
      topics: topics.map((name) => ({ name, partitions: Array.from({ length: opts.existingPartitions ?? 4 }, (_, i) => ({ partitionId: i })) })),
    })),
  };
  const producer = {
    connect: vi.fn(async () => void calls.push({ what: 'producer.connect' })),
    disconnect: vi.fn(async () => void calls.push({ what: 'producer.disconnect' })),
    sendBatch: vi.fn(async (args: unknown) => {
      calls.push({ what: 'sendBatch', args });
      return (opts.sendBatch ?? (async () => []))();
    }),
  };
  const consumer = {
    connect: vi.fn(async () => undefined),
    disconnect: vi.fn(async () => void calls.push({ what: 'consumer.disconnect' })),
    subscribe: vi.fn(async (args: unknown) => void calls.push({ what: 'subscribe', args })),
    run: vi.fn(async (args: { eachMessage: (p: EachMessagePayload) => Promise<void>; autoCommit?: boolean }) => {
      calls.push({ what: 'run', args: { autoCommit: args.autoCommit } });
      eachMessage = args.eachMessage;
    }),
  };
  const client = {
    admin: () => admin,
    producer: vi.fn((args: unknown) => {
      calls.push({ what: 'producer', args });
      return producer;
    }),
    consumer: vi.fn((args: unknown) => {
      calls.push({ what: 'consumer', args });
      return consumer;
    }),
  } as unknown as KafkaClient;
  const deliver = (value: string | Buffer | null, offset = '0') =>
    eachMessage!({ topic: cfg.topics.ticketStatus, partition: 1, message: { key: Buffer.from('sq-wt'), value: value === null ? null : Buffer.from(value), offset, timestamp: '0', attributes: 0, headers: {} }, heartbeat: async () => undefined, pause: () => () => undefined } as EachMessagePayload);
  return { client, calls, admin, producer, consumer, deliver };
}

describe('KafkaTicketSink', () => {
  it('creates its topics, then connects an idempotent producer; publishes with acks from all replicas', async () => {
    const f = fakeClient();
    const sink = new KafkaTicketSink(cfg, { baseDir: '.', client: f.client });
    await sink.start();
    await sink.publish([
      { topic: 'hp.tickets', key: 'sq-wt', value: '{"a":1}', headers: { schema: 'streetwatch.ticket/1' } },
      { topic: 'hp.tickets', key: 'sq-ndl', value: '{"a":2}' },
      { topic: 'hp.dlq', key: 'k', value: '{}' },
    ]);
    expect(f.calls.map((c) => c.what)).toEqual(['admin.connect', 'createTopics', 'admin.disconnect', 'producer', 'producer.connect', 'sendBatch']);
    expect(f.calls[1]!.args).toEqual({
      waitForLeaders: true,
      topics: ['hp.tickets', 'hp.ticket-status', 'hp.dlq'].map((topic) => ({ topic, numPartitions: 4, replicationFactor: 1 })),
    });
    expect(f.calls[3]!.args).toMatchObject({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    expect(f.calls[5]!.args).toEqual({
      acks: ACKS_ALL,
      topicMessages: [
        { topic: 'hp.tickets', messages: [{ key: 'sq-wt', value: '{"a":1}', headers: { schema: 'streetwatch.ticket/1' } }, { key: 'sq-ndl', value: '{"a":2}' }] },
        { topic: 'hp.dlq', messages: [{ key: 'k', value: '{}' }] },
      ],
    });
    expect(ACKS_ALL).toBe(-1);
    await sink.stop();
    await sink.stop();
    expect(f.producer.disconnect).toHaveBeenCalledTimes(1);
    await expect(sink.publish([{ topic: 'hp.tickets', key: 'k', value: 'v' }])).rejects.toMatchObject({ code: 'SINK_NOT_STARTED' });
  });

  it('creates only the topics that do not exist yet (asking for an existing one makes kafkajs log an error)', async () => {
    const f = fakeClient({ existingTopics: ['hp.tickets'] });
    const sink = new KafkaTicketSink(cfg, { baseDir: '.', client: f.client, topics: ['hp.tickets', 'hp.dlq'] });
    await sink.start();
    const created = f.calls.filter((c) => c.what === 'createTopics').map((c) => (c.args as { topics: { topic: string }[] }).topics.map((t) => t.topic));
    expect(created).toEqual([['hp.dlq']]);
    const g = fakeClient({ existingTopics: ['hp.tickets', 'hp.dlq'] });
    await new KafkaTicketSink(cfg, { baseDir: '.', client: g.client, topics: ['hp.tickets', 'hp.dlq'] }).start();
    expect(g.calls.some((c) => c.what === 'createTopics')).toBe(false);
  });

  it('topics that exist already (including a creation race) are fine; fewer partitions than configured is warned', async () => {
    const race = Object.assign(new Error('Topic with this name already exists'), { type: 'TOPIC_ALREADY_EXISTS' });
    const f = fakeClient({ createTopics: async () => Promise.reject(Object.assign(new Error('agg'), { errors: [race, race] })), existingPartitions: 2 });
    const warn = vi.fn();
    const sink = new KafkaTicketSink(cfg, { baseDir: '.', client: f.client, logger: { warn } as never, topics: ['hp.tickets'] });
    await sink.start();
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ topic: 'hp.tickets', partitions: 2, configured: 4 }), expect.stringContaining('existing topics are not changed'));
  });

  it('other topic failures and unacknowledged sends are coded, retriable errors', async () => {
    const bad = fakeClient({ createTopics: async () => Promise.reject(Object.assign(new Error('not authorized'), { type: 'TOPIC_AUTHORIZATION_FAILED' })) });
    await expect(new KafkaTicketSink(cfg, { baseDir: '.', client: bad.client }).start()).rejects.toMatchObject({ code: 'KAFKA_TOPICS_FAILED', retriable: true });
    expect(bad.admin.disconnect).toHaveBeenCalled();

    const f = fakeClient({ sendBatch: async () => Promise.reject(new Error('NOT_ENOUGH_REPLICAS')) });
    const sink = new KafkaTicketSink(cfg, { baseDir: '.', client: f.client });
    await sink.start();
    await expect(sink.publish([{ topic: 'hp.tickets', key: 'k', value: 'v' }])).rejects.toMatchObject({
      code: 'KAFKA_PUBLISH_FAILED',
      retriable: true,
      message: expect.stringContaining('NOT_ENOUGH_REPLICAS'),
    });
  });

  it('a missing SASL variable fails start() with the variable named', async () => {
    const withSasl = kafkaSchema.parse({ brokers: ['127.0.0.1:9092'], sasl: { mechanism: 'plain', usernameEnv: 'U_VAR', passwordEnv: 'P_VAR' } });
    await expect(new KafkaTicketSink(withSasl, { baseDir: '.', env: { U_VAR: 'u' } }).start()).rejects.toMatchObject({ code: 'KAFKA_CREDENTIALS_MISSING', message: expect.stringContaining('P_VAR') });
  });
});

describe('KafkaStatusSource', () => {
  const status = statusReport({ status: 'on_site' });

  it('consumes from the beginning in its group; valid → handler, malformed → DLQ, counted, and it goes on', async () => {
    const f = fakeClient();
    const dlq = new MemoryTicketSink();
    await dlq.start();
    const onMalformed = vi.fn();
    const src = new KafkaStatusSource(cfg, { baseDir: '.', client: f.client, dlq, onMalformed });
    const handled: string[] = [];
    src.onMessage(async (s, meta) => void handled.push(`${s.status}@${meta.offset}`));
    await src.start();
    expect(f.calls.find((c) => c.what === 'consumer')!.args).toEqual({ groupId: 'streetwatch.ticket-status', allowAutoTopicCreation: false });
    expect(f.calls.find((c) => c.what === 'subscribe')!.args).toEqual({ topics: ['hp.ticket-status'], fromBeginning: true });
    expect(f.calls.find((c) => c.what === 'run')!.args).toEqual({ autoCommit: true });

    await f.deliver(JSON.stringify(status), '10');
    await f.deliver('{"schema":"streetwatch.ticket-status/1"', '11');
    await f.deliver(null, '12');
    await f.deliver(JSON.stringify({ ...status, status: 'resolved' }), '13');
    expect(handled).toEqual(['on_site@10', 'resolved@13']);
    const letters = dlq.topic('hp.dlq').map((m) => JSON.parse(m.value) as { offset: string; partition: number; key: string; reason: string });
    expect(letters.map((l) => [l.offset, l.partition, l.key, l.reason.split(':')[0]])).toEqual([
      ['11', 1, 'sq-wt', 'not_json'],
      ['12', 1, 'sq-wt', 'empty'],
    ]);
    expect(onMalformed).toHaveBeenCalledTimes(2);
    await src.stop();
    await src.stop();
    expect(f.consumer.disconnect).toHaveBeenCalledTimes(1);
  });

  it('a handler error is rethrown to kafkajs (no commit, redelivery) and logged', async () => {
    const f = fakeClient();
    const error = vi.fn();
    const src = new KafkaStatusSource({ ...cfg, statusGroupId: 'g1' }, { baseDir: '.', client: f.client, dlq: new MemoryTicketSink(), logger: { error, warn: vi.fn() } as never });
    src.onMessage(async () => {
      throw new Error('store down');
    });
    await src.start();
    expect(f.calls.find((c) => c.what === 'consumer')!.args).toMatchObject({ groupId: 'g1' });
    await expect(f.deliver(JSON.stringify(status))).rejects.toThrow('store down');
    expect(error).toHaveBeenCalledWith(expect.objectContaining({ offset: '0' }), expect.stringContaining('delivered again'));
  });

  it('refuses to start without a handler', async () => {
    await expect(new KafkaStatusSource(cfg, { baseDir: '.', client: fakeClient().client, dlq: new MemoryTicketSink() }).start()).rejects.toMatchObject({ code: 'USAGE' });
  });
});
