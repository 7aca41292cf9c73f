import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Consumer, Producer } from 'kafkajs';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/loader.js';
import { DispatchStage } from '../../dispatcher/stage.js';
import { createTransport } from '../../dispatcher/transport.js';
import { ticketV1, type TicketV1 } from '../../dispatcher/ticket/schema.js';
import { runCameraToEnd } from '../../pipeline/eval.js';
import { buildScenario } from '../../pipeline/scenario/build.js';
import type { Hit } from '../../rules/types.js';
import { statusReport } from '../helpers/factories.js';
import { createConsumer, headersOf, createProducer, startKafka, uniqueTopic, type KafkaBroker } from '../helpers/kafka.js';
import { memoryLogger } from '../helpers/pipeline.js';
import { waitFor } from '../helpers/wait.js';

// End to end with the real things: a scene composed from the real Oxford clip and the Perth crates, decoded by
// ffmpeg, detected by YOLOX-Nano and the static-object detector, tracked and ruled; incidents in SQLite;
// evidence cut from the recorded file and signed; tickets published to a real Kafka broker and read back by a
// consumer; status reports from a producer, a malformed one dead-lettered.
//
// Timeline of the scene (dwell 8 s, cool-down 6 s): the crates stand from 3 s; hidden 22–62 s and 85–125 s
// (longer than the tracker keeps a lost object, 10 s, and the rules then remember an alerted spot, 30 s —
// rules/engine.ts FIRED_MEMORY_MS), so the rules fire three times at one place:
//   hit 1 → incident A, ticket A;  hit 2 → extends A, no ticket;  (the squad resolves A)
//   hit 3 → after the cool-down: incident B, a recurrence of A, ticket B.
const dir = mkdtempSync(join(tmpdir(), 'sw-dispatch-'));
let broker: KafkaBroker;
let consumer: Consumer;
let producer: Producer;
const tickets: { key: string; ticket: TicketV1 }[] = [];
const deadLetters: { value: Record<string, unknown>; headers: Record<string, string> }[] = [];

const spec = {
  name: 'dispatch-e2e',
  background: 'asset:oxford_towncentre_pedestrians.mp4',
  duration: 150,
  start: '2026-06-01T10:00:00+08:00',
  camera: {
    id: 'cam-a',
    name: '测试 camera A',
    location: { lat: 31.2304, lon: 121.4737, address: '南京东路 100 号', jurisdiction: 'nanjing-east' },
    zones: [{ id: 'z1', kind: 'no_stacking', polygon: [[0.62, 0.6], [0.98, 0.6], [0.98, 0.98], [0.62, 0.98]], rules: { stacking: { dwell: 8 } } }],
  },
  objects: [{ image: 'asset:perth_fruit_market_stall.jpg', crop: [0, 520, 300, 200], at: [0.8, 0.9], width: 0.12, appear: 3, leave: 200, hidden: [[22, 62], [85, 125]], truth: { type: 'stacking', zone: 'z1' } }],
};

const topics = { tickets: uniqueTopic('tickets'), ticketStatus: uniqueTopic('status'), dlq: uniqueTopic('dlq') };

beforeAll(async () => {
  broker = await startKafka();
  writeFileSync(join(dir, 'spec.yaml'), stringify(spec));
  await buildScenario(join(dir, 'spec.yaml'), join(dir, 'scene'));
  const cfgFile = join(dir, 'scene', 'config.yaml');
  const cfg = parse(readFileSync(cfgFile, 'utf8'));
  cfg.incidents = { cooldownMinutes: 0.1 };
  cfg.dispatch = {
    routing: { squads: [{ id: 'sq-ne', name: '南京东路中队' }, { id: 'sq-x', name: '其他中队' }], jurisdictions: [{ id: 'nanjing-east', name: '南京东路街道', squad: 'sq-ne' }], defaultSquad: 'sq-x' },
    kafka: { brokers: broker.brokers, clientId: 'sw-e2e', topics, partitions: 2 },
  };
  writeFileSync(cfgFile, stringify(cfg));

  consumer = createConsumer(broker.brokers, uniqueTopic('reader'));
  await consumer.connect();
  producer = createProducer(broker.brokers);
  await producer.connect();
}, 240_000);

afterAll(async () => {
  await consumer?.disconnect();
  await producer?.disconnect();
  await broker?.stop();
});


describe('dispatch end to end (real video, real Kafka)', () => {
  it('tickets one incident per violation, with verifiable evidence; repeats extend it; a recurrence after resolution is a second ticket', async () => {
    const { config, baseDir } = await loadConfig(join(dir, 'scene', 'config.yaml'));
    const { log } = memoryLogger('warn');
    const stage = new DispatchStage({ config, baseDir, log, ...createTransport(config, baseDir, log) });
    await stage.start();
    await stage.connected(); // the topics exist now
    await consumer.subscribe({ topics: [topics.tickets, topics.dlq], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        const value = JSON.parse(message.value!.toString());
        if (topic === topics.tickets) tickets.push({ key: message.key!.toString(), ticket: value });
        else deadLetters.push({ value, headers: headersOf(message) });
      },
    });

    const sendStatus = (value: string) => producer.send({ topic: topics.ticketStatus, acks: -1, messages: [{ key: 'sq-ne', value }] });
    // A sighting is a burst of hits within 5 s: the test steps by sightings, not by hit counts, so it does not
    // depend on how many pieces the static-object detector reports a pile in when it comes back into view.
    const sightings: Hit[][] = [];
    let resolved = false;
    await runCameraToEnd(join(dir, 'scene', 'config.yaml'), 'cam-a', log, async (h) => {
      const last = sightings.at(-1);
      if (last && h.atMs - last.at(-1)!.atMs < 5000) last.push(h);
      else sightings.push([h]);
      stage.onHit(h);
      await stage.idle();
      if (sightings.length === 1 && last === undefined) {
        // the first ticket reaches a consumer of the topic
        await waitFor(() => tickets.length === 1, 60_000, 'ticket A on Kafka');
      }
      if (sightings.length === 2 && !resolved) {
        resolved = true;
        expect(stage.counts.created, `the second sighting extends incident A: ${JSON.stringify(sightings.map((g) => g.map((x) => [x.atMs, x.box])))}`).toBe(1);
        // a squad system sends garbage first, then resolves A; the garbage is dead-lettered, A is resolved
        await sendStatus('{"not": "a status"');
        const a = tickets[0]!.ticket.ticketId;
        await sendStatus(JSON.stringify(statusReport({ ticketId: a, status: 'resolved', squad: 'sq-ne', at: new Date(h.atMs).toISOString() })));
        await waitFor(() => stage.store.get(a)?.state === 'resolved', 60_000, 'A resolved');
        await waitFor(() => deadLetters.length === 1, 60_000, 'the dead letter');
      }
    });
    await stage.idle();
    await waitFor(() => tickets.length >= 2, 30_000, 'ticket B').catch(() => undefined);
    await stage.stop();

    const seen = sightings.map((g) => g.map((h) => `${(h.atMs - Date.parse(spec.start)) / 1000}s [${h.box.map((v) => v.toFixed(3))}]`).join(', '));
    expect(sightings.length, seen.join(' | ')).toBe(3);
    expect(stage.counts).toMatchObject({ created: 2, tickets: 2 });
    expect(stage.counts.extended).toBeGreaterThanOrEqual(1);
    expect(tickets.length).toBe(2);
    const [a, b] = tickets.map((t) => t.ticket);
    for (const t of tickets) {
      expect(ticketV1.safeParse(t.ticket).success).toBe(true);
      expect(t.key).toBe('sq-ne'); // keyed by squad, routed by the camera's jurisdiction
    }
    expect(a).toMatchObject({ violation: { type: 'stacking', code: '0507' }, place: { cameraId: 'cam-a' }, squad: { id: 'sq-ne' }, recommendedAction: { action: 'educate_and_correct' } });
    expect(b!.recurrenceOf).toBe(a!.ticketId);
    expect(b!.recommendedAction.action).toBe('open_case');
    expect(new Set(tickets.map((t) => t.ticket.ticketId)).size).toBe(2);

    // ticket A went out with the instant package (the detection frame, meta, signed manifest): every file is on
    // disk with the sha256 the ticket gives, and the manifest lists the same hashes
    const files = a!.evidence.map((e) => ({ ...e, path: fileURLToPath(e.uri) }));
    expect(files.map((f) => f.name).sort()).toEqual(['manifest.json', 'meta.json', 'snapshot-confirmed.jpg']);
    const checkPackage = (list: { name: string; path: string; sha256?: string }[], manifestPath: string) => {
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
      for (const f of list) {
        const sha = createHash('sha256').update(readFileSync(f.path)).digest('hex');
        if (f.sha256) expect(sha, f.name).toBe(f.sha256);
        if (f.name !== 'manifest.json') expect(manifest.files.find((m: { name: string }) => m.name === f.name)?.sha256, f.name).toBe(sha);
      }
      return manifest;
    };
    const m1 = checkPackage(files, files.find((f) => f.name === 'manifest.json')!.path);
    // the full-resolution package followed as revision 2, chained right after it
    const r2 = join(dirname(dirname(files[0]!.path)), 'r2');
    const full = ['still-first.png', 'still-confirmed.png', 'still-latest.png', 'clip.mp4', 'meta.json'].map((name) => ({ name, path: join(r2, name) }));
    const m2 = checkPackage(full, join(r2, 'manifest.json'));
    expect(m2.previous).toBe(createHash('sha256').update(readFileSync(files.find((f) => f.name === 'manifest.json')!.path)).digest('hex'));
    expect(m1.revision).toBe(1);
    expect(m2.revision).toBe(2);

    // the malformed status went to the dead-letter topic with its reason
    expect(deadLetters[0]!.value).toMatchObject({ reason: expect.any(String) });
  }, 300_000);
});
