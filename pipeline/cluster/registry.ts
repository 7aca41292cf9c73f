import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import type { KafkaConfig } from '../../config/dispatch.js';
import { crossCheckConfig, formatPath } from '../../config/loader.js';
import { configSchema, type CameraConfig } from '../../config/schema.js';
import { StreetwatchError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { ACKS_ALL, clientFor, ensureTopics, withAdmin, type KafkaClient } from '../../dispatcher/sink/kafka.js';
import type { KafkaConnectOptions } from '../../dispatcher/sink/kafka-options.js';

/**
 * The camera registry of cluster mode: one compacted Kafka topic (`dispatch.kafka.topics.cameras`, by default
 * `streetwatch.cameras`, `dispatch.kafka.cameraPartitions` partitions, 64 by default) keyed by camera id.
 *
 * Record contract (version 1):
 * - key: the camera id (UTF-8), equal to the value's `id`;
 * - value: the camera's config as JSON — one entry of the YAML's `cameras`, in the same zod schema, with the
 *   file's `defaults` already applied (sampling, frame, ring, watchdog, reconnect, detectors), so a record means
 *   the same thing on every worker whatever that worker's own defaults;
 * - a record with a null value (a tombstone) removes the camera; compaction keeps only the latest record per
 *   key, so reading the topic from the beginning gives the current set.
 * The partition of a camera is Kafka's default partitioner over the key (murmur2, as Java clients do), so it
 * never changes while the partition count does not; the partitions are the shards that workers hold.
 *
 * Nothing invalid is written: `put` checks a camera with the config's own schema and cross-checks before
 * sending, and refuses it naming the key path. A record that is not valid when read (written by another tool,
 * or by an older version) is reported by `list` and skipped, never half-applied.
 */
export interface CameraRegistry {
  start(): Promise<void>;
  /** Validates and writes one camera (add or replace). Throws REGISTRY_CAMERA_INVALID, having written nothing. */
  put(camera: unknown): Promise<CameraConfig>;
  /** Writes a tombstone for `id`. */
  remove(id: string): Promise<void>;
  /** The current cameras (the topic read from the beginning to its end) and the records that were refused. */
  list(): Promise<RegistrySnapshot>;
  stop(): Promise<void>;
}

export interface RegistrySnapshot {
  cameras: CameraConfig[];
  refused: { key: string; partition: number; offset: string; reason: string }[];
}

/** The JSON of a registry record's value. */
export function encodeCamera(camera: CameraConfig): Buffer {
  return Buffer.from(JSON.stringify(camera));
}

/**
 * Checks one camera config for the registry (a put, or a record read back) with the config file's schema and
 * cross-checks. `key` is the record key (the camera id it must carry). Throws REGISTRY_CAMERA_INVALID listing
 * every problem by key path (`cameras/<key>.zones[0].polygon`).
 */
export function checkRegistryCamera(key: string, value: unknown): CameraConfig {
  const problems: string[] = [];
  const data = { version: 1, cameras: [value] };
  const parsed = configSchema.safeParse(data);
  const where = (path: readonly PropertyKey[]) => {
    const inside = path[0] === 'cameras' && path[1] === 0 ? path.slice(2) : path;
    return `cameras/${key}${inside.length ? (typeof inside[0] === 'number' ? '' : '.') + formatPath(inside) : ''}`;
  };
  if (!parsed.success) for (const i of parsed.error.issues) problems.push(`${where(i.path)}: ${i.message}`);
  for (const i of crossCheckConfig(data)) problems.push(`${where(i.path)}: ${i.message}`);
  const id = (value as { id?: unknown } | null)?.id;
  if (parsed.success && id !== key) problems.push(`cameras/${key}.id: the record key is '${key}' but the camera's id is '${String(id)}'; they must be the same`);
  if (problems.length || !parsed.success) {
    throw new StreetwatchError('REGISTRY_CAMERA_INVALID', `camera '${key}' is refused, nothing was written for it — ${problems.join('; ')}. Fix the config (config/example.yaml documents every key) and put it again.`, {
      details: { camera: key, problems },
    });
  }
  return parsed.data.cameras[0]!;
}

export interface KafkaRegistryOptions extends KafkaConnectOptions {
  /** A ready client instead of one built from the config (tests). */
  client?: KafkaClient;
  /** How long `list` waits for the topic to be read to its end. Default 60 s. */
  readTimeoutMs?: number;
}

const describeError = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The registry on a compacted Kafka topic (kafkajs behind the CameraRegistry interface). */
export class KafkaCameraRegistry implements CameraRegistry {
  private client: KafkaClient | undefined;
  private producer: Producer | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly cfg: KafkaConfig,
    private readonly opts: KafkaRegistryOptions,
  ) {}

  get topic(): string {
    return this.cfg.topics.cameras;
  }

  /** Creates the compacted topic if it does not exist, and connects the producer. */
  async start(): Promise<void> {
    if (this.producer) return;
    const client = (this.client ??= clientFor(this.cfg, this.opts));
    await withAdmin(client, (admin) =>
      ensureTopics(admin, { partitions: this.cfg.cameraPartitions, replicationFactor: this.cfg.replicationFactor }, [this.topic], this.opts.logger, {
        configKey: 'dispatch.kafka.cameraPartitions',
        configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
      }),
    );
    const producer = client.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    try {
      await producer.connect();
    } catch (e) {
      throw new StreetwatchError('KAFKA_CONNECT_FAILED', `the camera registry cannot connect to Kafka: ${describeError(e)}`, { cause: e, retriable: true });
    }
    this.producer = producer;
  }

  async put(camera: unknown): Promise<CameraConfig> {
    const id = (camera as { id?: unknown } | null)?.id;
    const checked = checkRegistryCamera(typeof id === 'string' && id ? id : '(no id)', camera);
    await this.send(checked.id, encodeCamera(checked));
    return checked;
  }

  async remove(id: string): Promise<void> {
    if (!id) throw new StreetwatchError('USAGE', 'which camera? a tombstone needs the camera id');
    await this.send(id, null);
  }

  private async send(key: string, value: Buffer | null): Promise<void> {
    const producer = this.producer;
    if (!producer) throw new StreetwatchError('REGISTRY_NOT_STARTED', 'the camera registry is not started; call start() first');
    try {
      await producer.send({ topic: this.topic, acks: ACKS_ALL, messages: [{ key, value }] });
    } catch (e) {
      throw new StreetwatchError('KAFKA_PUBLISH_FAILED', `cannot write camera '${key}' to ${this.topic}: ${describeError(e)}`, { cause: e, retriable: true, details: { camera: key } });
    }
  }

  /**
   * Reads the topic from the beginning up to the end it had when the read began (its high watermarks), with a
   * consumer group of its own that commits nothing and is deleted afterwards.
   */
  async list(): Promise<RegistrySnapshot> {
    const client = (this.client ??= clientFor(this.cfg, this.opts));
    const ends = await withAdmin(client, async (admin) => {
      try {
        return await admin.fetchTopicOffsets(this.topic);
      } catch (e) {
        throw new StreetwatchError('KAFKA_TOPICS_FAILED', `cannot read the offsets of ${this.topic}: ${describeError(e)}`, { cause: e, retriable: true });
      }
    });
    const waiting = new Map<number, bigint>();
    for (const p of ends) if (BigInt(p.high) > BigInt(p.low)) waiting.set(p.partition, BigInt(p.high));
    const latest = new Map<string, { value: Buffer | null; partition: number; offset: string }>();
    if (waiting.size) {
      const groupId = `${this.cfg.clientId}.registry-read.${randomUUID()}`;
      const consumer = client.consumer({ groupId, allowAutoTopicCreation: false });
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
        let timer: NodeJS.Timeout | undefined;
        const done = new Promise<void>((resolve, reject) => {
          timer = setTimeout(() => reject(new StreetwatchError('REGISTRY_READ_TIMEOUT', `reading ${this.topic} to its end took longer than ${(this.opts.readTimeoutMs ?? 60_000) / 1000} s`, { retriable: true })), this.opts.readTimeoutMs ?? 60_000);
          const reached = (partition: number) => {
            waiting.delete(partition);
            if (!waiting.size) resolve();
          };
          // The last offset of a partition need not hold a message a consumer sees (a transaction's commit
          // marker): kafkajs still reports the batch, with no lag left once it is past it.
          consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
            if (payload.offsetLag === '0' && waiting.has(payload.partition)) reached(payload.partition);
          });
          consumer
            .run({
              autoCommit: false,
              eachMessage: async ({ partition, message }) => {
                const key = message.key?.toString('utf8') ?? '';
                latest.set(key, { value: message.value, partition, offset: message.offset });
                const end = waiting.get(partition);
                if (end !== undefined && BigInt(message.offset) + 1n >= end) reached(partition);
              },
            })
            .catch(reject);
        });
        try {
          await done;
        } finally {
          clearTimeout(timer);
        }
      } finally {
        await consumer.disconnect().catch(() => undefined);
        await withAdmin(client, (admin) => admin.deleteGroups([groupId])).catch(() => undefined);
      }
    }
    const snapshot: RegistrySnapshot = { cameras: [], refused: [] };
    for (const [key, rec] of latest) {
      if (rec.value === null) continue; // tombstone: removed
      try {
        snapshot.cameras.push(checkRegistryCamera(key, JSON.parse(rec.value.toString('utf8'))));
      } catch (e) {
        const reason = e instanceof SyntaxError ? `not JSON: ${e.message}` : describeError(e);
        snapshot.refused.push({ key, partition: rec.partition, offset: rec.offset, reason });
        this.opts.logger?.warn({ camera: key, partition: rec.partition, offset: rec.offset }, `camera registry: record for '${key}' refused — ${reason}`);
      }
    }
    snapshot.cameras.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return snapshot;
  }

  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      await this.producer?.disconnect().catch(() => undefined);
    })());
  }
}
