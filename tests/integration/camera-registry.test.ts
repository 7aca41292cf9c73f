// The cluster camera registry on a real Kafka broker (scripts/kafka-local): a compacted topic of
// dispatch.kafka.cameraPartitions partitions; puts, tombstones and a snapshot read back; a bad camera refused
// before anything is written; a foreign record reported, not applied; and `streetwatch cameras` end to end.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigResourceTypes, type Admin } from 'kafkajs';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaSchema } from '../../config/dispatch.js';
import { isStreetwatchError } from '../../core/errors.js';
import { KafkaCameraRegistry } from '../../pipeline/cluster/registry.js';
import { runCli } from '../helpers/cli.js';
import { createAdmin, createProducer, startKafka, uniqueTopic, type KafkaBroker } from '../helpers/kafka.js';
import { memoryLogger } from '../helpers/pipeline.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'sw-registry-'));
let broker: KafkaBroker;
let admin: Admin;
const registries: KafkaCameraRegistry[] = [];

const camera = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  name: `路口 ${id}`,
  source: { kind: 'rtsp', url: `rtsp://10.0.0.${id.length}/${id}`, transport: 'tcp', timeoutSec: 5 },
  zones: [{ id: 'kerb', kind: 'no_stacking', polygon: [[0.1, 0.5], [0.9, 0.5], [0.9, 0.9], [0.1, 0.9]], rules: { stacking: { dwell: 300 } } }],
  ...over,
});

async function registry(topic: string, partitions = 8, readTimeoutMs?: number): Promise<KafkaCameraRegistry> {
  const cfg = kafkaSchema.parse({ brokers: broker.brokers, clientId: 'sw-registry-test', topics: { cameras: topic }, cameraPartitions: partitions });
  const r = new KafkaCameraRegistry(cfg, { baseDir: dir, logger: memoryLogger().log, ...(readTimeoutMs ? { readTimeoutMs } : {}) });
  registries.push(r);
  await r.start();
  return r;
}

beforeAll(async () => {
  broker = await startKafka();
  admin = createAdmin(broker.brokers);
  await admin.connect();
}, 120_000);

afterAll(async () => {
  for (const r of registries) await r.stop();
  await admin?.disconnect();
  await broker?.stop();
});

describe('KafkaCameraRegistry on a real broker', () => {
  it('creates a compacted topic with the configured partitions, and reads back what was put and not removed', async () => {
    const topic = uniqueTopic('cameras');
    const r = await registry(topic, 8);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]!.partitions).toHaveLength(8);
    const conf = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy'] }] });
    expect(conf.resources[0]!.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue).toBe('compact');

    for (const id of ['cam-a', 'cam-b', 'cam-c']) await r.put(camera(id));
    await r.put(camera('cam-b', { name: 'renamed' })); // a later put replaces
    await r.remove('cam-c');
    const snap = await r.list();
    expect(snap.refused).toEqual([]);
    expect(snap.cameras.map((c) => c.id)).toEqual(['cam-a', 'cam-b']);
    expect(snap.cameras[1]!.name).toBe('renamed');
    // the camera id is the key: Kafka's default partitioner puts each camera on one partition, always the same
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.reduce((n, p) => n + Number(p.high), 0)).toBe(5);
  }, 60_000);

  it('refuses a bad camera before writing anything, naming the key path', async () => {
    const topic = uniqueTopic('cameras');
    const r = await registry(topic, 2);
    await r.put(camera('cam-ok'));
    const before = await admin.fetchTopicOffsets(topic);
    let err: unknown;
    try {
      await r.put(camera('cam-bad', { zones: [{ id: 'z', kind: 'no_stacking', polygon: [[0, 0], [1, 1]], rules: {} }] }));
    } catch (e) {
      err = e;
    }
    expect(isStreetwatchError(err, 'REGISTRY_CAMERA_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/cameras\/cam-bad\.zones\[0\]\.polygon/);
    expect(await admin.fetchTopicOffsets(topic)).toEqual(before);
    expect((await r.list()).cameras.map((c) => c.id)).toEqual(['cam-ok']);
  }, 60_000);

  it('reports a record that is not a valid camera (written by another tool) and leaves it out', async () => {
    const topic = uniqueTopic('cameras');
    const r = await registry(topic, 2);
    await r.put(camera('cam-good'));
    const producer = createProducer(broker.brokers);
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'cam-junk', value: '{not json' }, { key: 'cam-wrong', value: JSON.stringify(camera('cam-other')) }] });
    await producer.disconnect();
    const snap = await r.list();
    expect(snap.cameras.map((c) => c.id)).toEqual(['cam-good']);
    expect(snap.refused.map((x) => x.key).sort()).toEqual(['cam-junk', 'cam-wrong']);
    expect(snap.refused.find((x) => x.key === 'cam-junk')!.reason).toMatch(/not JSON/);
    expect(snap.refused.find((x) => x.key === 'cam-wrong')!.reason).toMatch(/record key is 'cam-wrong' but the camera's id is 'cam-other'/);
  }, 60_000);

  it('reads to the end of partitions whose last offset is a transaction marker, not a camera', async () => {
    const topic = uniqueTopic('cameras');
    const r = await registry(topic, 1, 20_000); // a read that never finds its end fails with REGISTRY_READ_TIMEOUT
    // a transactional writer (another tool) leaves a commit marker after its records: the partition's last
    // offset holds no message, so reading "up to the last offset" would wait for ever
    const tx = createProducer(broker.brokers, { transactionalId: uniqueTopic('registry-tx'), idempotent: true, maxInFlightRequests: 1 });
    await tx.connect();
    const t = await tx.transaction();
    await t.send({ topic, messages: [{ key: 'cam-tx', value: JSON.stringify(camera('cam-tx')) }] });
    await t.commit();
    await tx.disconnect();
    // the coordinator writes the commit marker after commit() returns: wait until the record and the marker
    // are both there (the stable end the registry reads to)
    await waitFor(async () => Number((await admin.fetchTopicOffsets(topic))[0]!.high) === 2, 20_000, 'the commit marker');
    expect((await r.list()).cameras.map((c) => c.id)).toEqual(['cam-tx']);
  }, 60_000);

  it('lists an empty registry without waiting', async () => {
    const r = await registry(uniqueTopic('cameras'), 2);
    expect(await r.list()).toEqual({ cameras: [], refused: [] });
  }, 30_000);
});

describe('streetwatch cameras (the CLI)', () => {
  it('imports a config file with its defaults applied, puts one camera, removes one, lists, and refuses a bad one', async () => {
    const topic = uniqueTopic('cameras');
    const cluster = join(dir, 'cluster.yaml');
    writeFileSync(
      cluster,
      stringify({
        version: 1,
        dispatch: { routing: { squads: [{ id: 'sq', name: '中队' }], defaultSquad: 'sq' }, kafka: { brokers: broker.brokers, clientId: 'sw-cli-test', topics: { cameras: topic }, cameraPartitions: 4 } },
      }),
    );
    const site = join(dir, 'site.yaml');
    writeFileSync(site, stringify({ version: 1, defaults: { sampling: { mode: 'keyframes', minIntervalSec: 6 } }, cameras: [camera('cam-1'), camera('cam-2'), camera('cam-3', { sampling: { mode: 'fps', fps: 1 } })] }));
    const imported = await runCli('cameras', 'import', site, '--cluster', cluster);
    expect(imported.err).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.out).toMatch(/3 camera\(s\) from .*site\.yaml/);

    const one = join(dir, 'cam-9.json');
    writeFileSync(one, JSON.stringify(camera('cam-9')));
    expect((await runCli('cameras', 'put', one, '--cluster', cluster)).code).toBe(0);
    expect((await runCli('cameras', 'rm', 'cam-2', '--cluster', cluster)).code).toBe(0);

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, stringify(camera('cam-x', { source: { kind: 'rtsp' } })));
    const refused = await runCli('cameras', 'put', bad, '--cluster', cluster);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/camera 'cam-x' is refused, nothing was written for it — cameras\/cam-x\.source/);

    const listed = await runCli('cameras', 'list', '--json', '--cluster', cluster);
    expect(listed.code).toBe(0);
    const snap = JSON.parse(listed.out) as { cameras: { id: string; sampling?: { mode: string; minIntervalSec?: number } }[] };
    expect(snap.cameras.map((c) => c.id)).toEqual(['cam-1', 'cam-3', 'cam-9']);
    // the file's defaults travel with each imported camera; a camera's own setting wins
    expect(snap.cameras[0]!.sampling).toEqual({ mode: 'keyframes', minIntervalSec: 6 });
    expect(snap.cameras[1]!.sampling).toMatchObject({ mode: 'fps', fps: 1 });
  }, 90_000);

  it('says what is missing: no subcommand, no --cluster, a cluster file without dispatch.kafka', async () => {
    expect((await runCli('cameras')).code).toBe(2);
    expect((await runCli('cameras', 'list')).err).toMatch(/--cluster <cluster\.yaml> is required/);
    const noKafka = join(dir, 'no-kafka.yaml');
    writeFileSync(noKafka, 'version: 1\n');
    const r = await runCli('cameras', 'list', '--cluster', noKafka);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/has no dispatch\.kafka/);
  });
});
