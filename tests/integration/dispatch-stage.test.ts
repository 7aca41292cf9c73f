import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import sharp from 'sharp';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../config/schema.js';
import { resolveAsset } from '../../core/assets.js';
import { DispatchStage } from '../../dispatcher/stage.js';
import { MemoryStatusSource, MemoryTicketSink } from '../../dispatcher/sink/memory.js';
import { verifyEvidence } from '../../dispatcher/evidence/verify.js';
import type { Hit } from '../../rules/types.js';
import { Registry } from 'prom-client';
import { createMetrics } from '../../core/metrics.js';
import { hitAt, statusReport } from '../helpers/factories.js';
import { oxfordFrame } from '../helpers/frames.js';
import { memoryLogger, metricValue } from '../helpers/pipeline.js';
import { waitFor } from '../helpers/wait.js';

// The dispatch stage on the real Oxford clip (evidence cut by real ffmpeg from the recorded file) with the
// in-memory transport: the embedded mode's path, crash recovery and the feedback loop, without a broker.
const START = Date.parse('2026-06-01T10:00:00+08:00');
const clip = resolveAsset('oxford_towncentre_pedestrians.mp4');

function config(dataDir: string, over: Partial<Record<string, unknown>> = {}): Config {
  return configSchema.parse({
    version: 1,
    storage: { dataDir },
    cameras: [
      {
        id: 'cam-a',
        name: '测试 A',
        source: { kind: 'file', path: clip, loop: false, realtime: false, startTime: '2026-06-01T10:00:00+08:00' },
        location: { lat: 31.23, lon: 121.47, address: '南京东路 1 号', jurisdiction: 'ndl' },
        zones: [{ id: 'z1', kind: 'no_stacking', polygon: [[0.5, 0.5], [1, 0.5], [1, 1], [0.5, 1]], rules: { stacking: { dwell: 1 } } }],
      },
    ],
    dispatch: { routing: { squads: [{ id: 'sq-1', name: '一中队' }], jurisdictions: [{ id: 'ndl', name: '南京东路街道', squad: 'sq-1' }], defaultSquad: 'sq-1' } },
    ...over,
  });
}

/** The pile in z1 confirmed `sec` seconds into the clip, on its frame `sec` (evidence is cut from the file by PTS). */
const hit = (sec: number, box: Hit['box'] = [0.7, 0.7, 0.8, 0.9]): Hit => hitAt(START + sec * 1000, { box, dwellSec: 1, seq: sec, ptsSec: sec });

describe('DispatchStage (embedded transport, real evidence)', () => {
  it('tickets a new incident with signed evidence from the recorded file, folds repeats, and follows the squad\'s reports', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sw-stage-'));
    const { log } = memoryLogger('warn');
    const sink = new MemoryTicketSink();
    const status = new MemoryStatusSource({ topic: 'status', dlq: sink, dlqTopic: 'dlq' });
    const metrics = createMetrics(new Registry());
    const stage = new DispatchStage({ config: config(dataDir), baseDir: dataDir, log, sink, status, metrics, detectorInfo: (id) => (id === 'static-object' ? { version: '2.1.0', thresholds: { minStaticSec: 8 } } : undefined) });
    await stage.start();
    await stage.connected();
    // the hit brings the frame it fired on, as the rules stage attaches it
    const frame = oxfordFrame(640, 360, 25);
    stage.onHit({ ...hit(1), snapshot: { width: frame.width, height: frame.height, data: frame.data } });
    stage.onHit(hit(2));
    stage.onHit({ ...hit(2), shadow: true }); // shadow hits are never dispatched
    await stage.idle();
    await waitFor(() => sink.topic('streetwatch.tickets').length === 1, 20_000, 'the ticket');
    expect(stage.counts).toMatchObject({ created: 1, extended: 1, tickets: 1 });
    expect(await metricValue(metrics, 'streetwatch_incident_hits_total', { type: 'stacking', decision: 'extended' })).toBe(1);
    expect(await metricValue(metrics, 'streetwatch_tickets_total', { type: 'stacking', squad: 'sq-1' })).toBe(1);
    await waitFor(() => stage.store.list()[0]?.state === 'dispatched', 20_000, 'dispatched');
    expect(await metricValue(metrics, 'streetwatch_tickets_sent_total', {})).toBe(1);
    const msg = sink.topic('streetwatch.tickets')[0]!;
    const ticket = JSON.parse(msg.value);
    expect(msg.key).toBe('sq-1');
    expect(ticket).toMatchObject({ violation: { type: 'stacking' }, place: { cameraId: 'cam-a', address: '南京东路 1 号' }, squad: { id: 'sq-1' } });
    // the ticket went out with the instant package; the full-resolution one followed as revision 2
    expect(ticket.evidence.map((e: { name: string }) => e.name).sort()).toEqual(['manifest.json', 'meta.json', 'snapshot-confirmed.jpg']);
    const r2 = join(dataDir, 'evidence', ticket.ticketId, 'r2');
    expect((await sharp(join(r2, 'still-confirmed.png')).metadata()).width).toBe(1920);
    expect(existsSync(join(r2, 'clip.mp4'))).toBe(true);
    // meta.json names the detectors behind it, with their versions and thresholds, and ISO times with offset
    const meta = JSON.parse(readFileSync(join(r2, 'meta.json'), 'utf8'));
    expect(meta.detectors).toEqual([{ id: 'static-object', version: '2.1.0', thresholds: { minStaticSec: 8 } }]);
    expect(meta.times.confirmed).toBe('2026-06-01T10:00:01.000+08:00');
    const verified = await verifyEvidence(join(dataDir, 'evidence'), readFileSync(join(dataDir, 'keys', 'evidence-ed25519.pub'), 'utf8'));
    expect(verified.ok, JSON.stringify(verified.problems)).toBe(true);

    // seen again a minute later: more evidence, a third revision chained after the others (the 3.84 s clip
    // has no frame at 61 s, so the package says the latest still is missing instead of inventing one)
    stage.onHit(hit(61));
    stage.onHit(hit(62)); // the same minute: no further revision
    await stage.idle();
    const r3 = JSON.parse(readFileSync(join(dataDir, 'evidence', ticket.ticketId, 'r3', 'meta.json'), 'utf8'));
    expect(r3).toMatchObject({ revision: 3, times: { latest: '2026-06-01T10:01:01.000+08:00' } });
    expect(r3.missing.map((m: { item: string }) => m.item)).toContain('still-latest.png');
    expect(existsSync(join(dataDir, 'evidence', ticket.ticketId, 'r4'))).toBe(false);
    expect((await verifyEvidence(join(dataDir, 'evidence'), readFileSync(join(dataDir, 'keys', 'evidence-ed25519.pub'), 'utf8'))).ok).toBe(true);

    // the squad's reports move the incident forward; garbage is dead-lettered and changes nothing
    expect(await status.deliver('garbage')).toBe('dead_lettered');
    expect(sink.topic('dlq').length).toBe(1);
    const report = (s: string) => JSON.stringify(statusReport({ ticketId: ticket.ticketId, status: s, squad: 'sq-1', at: '2026-06-01T10:05:00+08:00' }));
    expect(await status.deliver(report('accepted'))).toBe('handled');
    expect(stage.store.get(ticket.ticketId)!.state).toBe('acknowledged');
    await status.deliver(report('rejected_false_positive'));
    expect(stage.store.get(ticket.ticketId)!.state).toBe('rejected');
    expect(stage.store.falsePositives()).toEqual([{ detector: 'static-object', cameraId: 'cam-a', zoneId: 'z1', count: 1 }]);
    await stage.stop();
    await stage.stop();
  }, 120_000);

  it('a later sighting arriving before the first packages are sealed still gets its own revision (3), and theirs stay 1 and 2', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sw-stage-'));
    const { log } = memoryLogger('warn');
    const stage = new DispatchStage({ config: config(dataDir), baseDir: dataDir, log, sink: new MemoryTicketSink() });
    await stage.start();
    const frame = oxfordFrame(640, 360, 25);
    // a replay faster than real time: the minute-later sighting comes in the same tick as the first hit
    stage.onHit({ ...hit(1), snapshot: { width: frame.width, height: frame.height, data: frame.data } });
    stage.onHit(hit(61));
    await stage.idle();
    const id = stage.store.list()[0]!.id;
    expect(readdirSync(join(dataDir, 'evidence', id)).sort()).toEqual(['r1', 'r2', 'r3']);
    expect(stage.counts.evidenceFailed).toBe(0);
    await stage.stop();
  }, 120_000);

  it('after a crash between the incident and its ticket, the next start tickets it with the package sealed before the crash', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sw-stage-'));
    const { log } = memoryLogger('warn');
    // first life: no dispatch routing, so the incident is stored and packaged but never ticketed (as if the
    // process died before the ticket transaction)
    const first = new DispatchStage({ config: config(dataDir, { dispatch: undefined }), baseDir: dataDir, log });
    await first.start();
    first.onHit(hit(1));
    await first.idle();
    await first.stop();

    const sink = new MemoryTicketSink();
    const second = new DispatchStage({ config: config(dataDir), baseDir: dataDir, log, sink });
    await second.start();
    await second.connected();
    await second.idle();
    await waitFor(() => sink.messages.length === 1, 20_000, 'one message');
    expect(second.counts).toMatchObject({ tickets: 1, evidenceFailed: 0 });
    // the ticket names the package made in the first life, with the hashes on disk
    const ticket = JSON.parse(sink.messages[0]!.value);
    expect(ticket.evidence.find((e: { name: string }) => e.name === 'manifest.json').uri).toContain(`/evidence/${ticket.ticketId}/r1/manifest.json`);
    expect(second.store.withoutTicket()).toEqual([]);
    await second.stop();
  }, 120_000);
});

