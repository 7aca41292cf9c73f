import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../config/schema.js';
import { createLogger } from '../core/log.js';
import { DispatchStage } from '../dispatcher/stage.js';
import { createTransport } from '../dispatcher/transport.js';
import type { Hit } from '../rules/types.js';
import { oxfordFrame } from '../tests/helpers/frames.js';
import { freePort } from '../tests/helpers/net.js';
import { mean, percentile, round, stats } from './stats.js';

/**
 * `npm run bench -- dispatch`: incident confirmation → Kafka broker ack, through the real DispatchStage
 * (SQLite store, evidence cut from the real 1080p Oxford clip and signed, ticket + outbox row, relay, the
 * idempotent acks=-1 producer) against an own single-node broker on loopback (scripts/kafka-local).
 *
 * N synthetic, well-formed stacking hits at N distinct zones (so N new incidents) are fed one every
 * BENCH_DISPATCH_INTERVAL_MS (default 200). Per incident:
 *  - confirmation → ack: from `onHit` to the relay's ack of its outbox row (what the p50/p95 are);
 *  - queue wait: `onHit` → its packaging starts (packaging runs one incident at a time);
 *  - evidence: the packager's own elapsedMs (read from its "evidence packaged" log line);
 *  - outbox → ack: the relay's latency, outbox row created → broker ack (excludes evidence and queueing).
 * Then BENCH_DISPATCH_SINGLE more incidents one at a time (each after the previous ack): the same path with
 * no queue. Env: BENCH_DISPATCH_INCIDENTS (default 30), BENCH_DISPATCH_INTERVAL_MS (default 200),
 * BENCH_DISPATCH_SINGLE (default 10).
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const kafkaScript = join(root, 'scripts', 'kafka-local');
const ASSET = 'oxford_towncentre_pedestrians.mp4'; // 1920×1080, 25 fps, 3.84 s


function kafkaLocal(args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(kafkaScript, args, { cwd: root, timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`scripts/kafka-local ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve();
    });
  });
}

export async function benchDispatch(): Promise<Record<string, unknown>> {
  const n = Number(process.env.BENCH_DISPATCH_INCIDENTS ?? 30);
  const intervalMs = Number(process.env.BENCH_DISPATCH_INTERVAL_MS ?? 200);
  const m = Number(process.env.BENCH_DISPATCH_SINGLE ?? 10);
  const dir = mkdtempSync(join(tmpdir(), 'sw-bench-dispatch-'));
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const brokerArgs = ['--port', String(port), '--controller-port', String(controllerPort), '--data', join(dir, 'kafka')];
  let brokerUp = false;
  const stopBroker = async () => {
    if (!brokerUp) return;
    brokerUp = false;
    process.stderr.write('bench dispatch: stopping the broker…\n');
    await kafkaLocal(['stop', ...brokerArgs], 60_000).catch((e: unknown) => process.stderr.write(`bench dispatch: ${(e as Error).message}\n`));
  };
  const onSignal = (sig: NodeJS.Signals) => void stopBroker().finally(() => process.kill(process.pid, sig));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    process.stderr.write(`bench dispatch: starting a Kafka broker on 127.0.0.1:${port}…\n`);
    const b0 = performance.now();
    await kafkaLocal(['start', ...brokerArgs], 120_000);
    brokerUp = true;
    const brokerStartMs = performance.now() - b0;

    // One file camera on the raw 1080p clip, read faster than real time: the file itself is the evidence
    // (full-resolution stills, a copied clip). A 6×5 grid of small no_stacking zones, one incident each.
    // Zones 0…n-1: the paced incidents; n: the warm-up; n+1…n+m: one at a time.
    const cols = 6;
    const rows = Math.ceil((n + 1 + m) / cols);
    const zones = Array.from({ length: n + 1 + m }, (_, i) => {
      const cx = i % cols;
      const cy = Math.floor(i / cols);
      const [w, h] = [1 / cols, 1 / rows];
      const x1 = cx * w + 0.1 * w;
      const y1 = cy * h + 0.1 * h;
      const x2 = x1 + 0.8 * w;
      const y2 = y1 + 0.8 * h;
      return { id: `z${String(i + 1).padStart(2, '0')}`, kind: 'no_stacking', polygon: [[x1, y1], [x2, y1], [x2, y2], [x1, y2]], rules: { stacking: { dwell: 2 } } };
    });
    const tag = `${process.pid}-${Date.now().toString(36)}`;
    const config = configSchema.parse({
      version: 1,
      site: { name: 'bench', timezone: 'Asia/Shanghai' },
      storage: { dataDir: join(dir, 'data') },
      incidents: { cooldownMinutes: 30 },
      cameras: [
        {
          id: 'cam-bench',
          name: 'bench camera',
          source: { kind: 'file', path: `asset:${ASSET}`, realtime: false },
          location: { lat: 31.2304, lon: 121.4737, address: '南京东路 100 号', jurisdiction: 'nanjing-east' },
          zones,
        },
      ],
      dispatch: {
        routing: { squads: [{ id: 'sq-ne', name: '南京东路中队' }, { id: 'sq-x', name: '其他中队' }], jurisdictions: [{ id: 'nanjing-east', name: '南京东路街道', squad: 'sq-ne' }], defaultSquad: 'sq-x' },
        kafka: { brokers: [`127.0.0.1:${port}`], clientId: 'sw-bench', topics: { tickets: `bench-tickets-${tag}`, ticketStatus: `bench-status-${tag}`, dlq: `bench-dlq-${tag}` } },
      },
    });

    // Warnings and errors go to stderr; the packager's "evidence packaged" lines (info) give its elapsedMs.
    const evidenceMs = new Map<string, number>(); // the full-resolution package (revision 2)
    const snapshotMs = new Map<string, number>(); // the instant package the ticket carries (revision 1)
    const log = createLogger({
      level: 'info',
      name: 'bench-dispatch',
      destination: {
        write(line: string) {
          const o = JSON.parse(line) as { level: number; msg?: string; incident?: string; revision?: number; elapsedMs?: number };
          if (o.msg === 'evidence packaged' && o.incident && typeof o.elapsedMs === 'number') (o.revision === 1 ? snapshotMs : evidenceMs).set(o.incident, o.elapsedMs);
          if (o.level >= 40) process.stderr.write(line);
        },
      },
    });

    // Per incident, keyed by zone (one incident per zone): confirmation, ticket written, ack; evidence by incident id.
    const confirmedAt = new Map<string, number>(); // zone → performance.now() at onHit
    const zoneOf = new Map<string, string>(); // incident id → zone
    const ticketAt = new Map<string, number>(); // zone → performance.now() when its ticket + outbox row were written
    const ackAt = new Map<string, number>(); // zone → performance.now() at the broker's ack
    const outboxToAck = new Map<string, number>(); // zone → relay latency (outbox row created → ack), ms

    const { sink, status } = createTransport(config, dir, log);
    const stage = new DispatchStage({
      config,
      baseDir: dir,
      log,
      ...(sink ? { sink } : {}),
      ...(status ? { status } : {}),
      onTicket: (inc) => {
        zoneOf.set(inc.id, inc.zoneId);
        ticketAt.set(inc.zoneId, performance.now());
      },
      onSent: (sent, latencyMs) => {
        const t = performance.now();
        sent.forEach((row, i) => {
          const zone = zoneOf.get(row.headers['ticket-id'] ?? '');
          if (!zone) return;
          ackAt.set(zone, t);
          outboxToAck.set(zone, latencyMs[i]!);
        });
      },
    });

    const waitAcked = async (ids: string[], timeoutMs: number) => {
      const end = Date.now() + timeoutMs;
      while (!ids.every((z) => ackAt.has(z))) {
        if (Date.now() > end) throw new Error(`only ${ids.filter((z) => ackAt.has(z)).length} of ${ids.length} tickets acknowledged within ${timeoutMs / 1000} s`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const hitAt = (zi: number): Hit => {
      const z = zones[zi]!;
      const [x1, y1] = z.polygon[0]!;
      const [x2, y2] = z.polygon[2]!;
      const [w, h] = [x2! - x1!, y2! - y1!];
      const ptsSec = 2.6 + (zi % 10) * 0.1; // 2.6–3.5 s, inside the 3.84 s clip
      const atMs = Math.round(videoStartMs + ptsSec * 1000);
      return {
        type: 'stacking',
        cameraId: 'cam-bench',
        zoneId: z.id,
        box: [x1! + 0.25 * w, y1! + 0.25 * h, x1! + 0.75 * w, y1! + 0.75 * h],
        score: 0.9,
        firstSeenMs: atMs - 2000,
        atMs,
        dwellSec: 2,
        trackIds: [zi + 1],
        objects: [{ trackId: zi + 1, semantic: 'static_object', detector: 'static-object' }],
        frame: { cameraId: 'cam-bench', seq: Math.round(ptsSec * 25), wallMs: atMs, ptsSec },
        shadow: false,
        // as the rules stage attaches it: the detection frame, for the instant package the ticket carries
        snapshot: { width: detectionFrame.width, height: detectionFrame.height, data: detectionFrame.data },
      };
    };
    const confirm = (zi: number) => {
      confirmedAt.set(zones[zi]!.id, performance.now());
      stage.onHit(hitAt(zi));
    };
    const detectionFrame = oxfordFrame(640, 360, 65);
    const videoStartMs = Date.now() - 60_000; // wall time of the clip's PTS 0: a replay recorded a minute ago

    /** The numbers for a set of zones, in confirmation order (packaging is serial: incident k starts when it was confirmed or when k-1 got its ticket). */
    const summarize = (ids: string[]) => {
      const evidenceByZone = new Map([...evidenceMs].map(([inc, ms]) => [zoneOf.get(inc), ms]));
      const order = [...ids].sort((a, b) => confirmedAt.get(a)! - confirmedAt.get(b)!);
      const r = { confToAck: [] as number[], queueWait: [] as number[], evidence: [] as number[], ticketToAck: [] as number[], outbox: [] as number[] };
      let prevTicket = -Infinity;
      for (const z of order) {
        const c = confirmedAt.get(z)!;
        const t = ticketAt.get(z)!;
        const a = ackAt.get(z)!;
        r.confToAck.push(a - c);
        r.queueWait.push(Math.max(c, prevTicket) - c);
        prevTicket = t;
        const e = evidenceByZone.get(z);
        if (e !== undefined) r.evidence.push(e);
        r.ticketToAck.push(a - t);
        r.outbox.push(outboxToAck.get(z)!);
      }
      return r;
    };

    try {
      await stage.start();
      process.stderr.write('bench dispatch: connecting the stage to the broker (topics, producer, status consumer)…\n');
      const c0 = performance.now();
      await stage.connected();
      const connectMs = performance.now() - c0;

      // Warm-up, not measured: one incident through everything (ffmpeg, sharp, signing, the producer's first send).
      process.stderr.write('bench dispatch: warm-up incident…\n');
      confirm(n);
      await waitAcked([zones[n]!.id], 60_000);

      // Paced: one confirmation every intervalMs, as a busy camera would deliver them.
      process.stderr.write(`bench dispatch: ${n} incidents, one every ${intervalMs} ms…\n`);
      const paced = zones.slice(0, n).map((z) => z.id);
      const cpu0 = process.cpuUsage();
      const w0 = performance.now();
      for (let i = 0; i < n; i++) {
        confirm(i);
        if (i < n - 1 && intervalMs > 0) await new Promise((r) => setTimeout(r, intervalMs));
      }
      await stage.idle();
      await waitAcked(paced, 60_000);
      const wallSec = (performance.now() - w0) / 1000;
      const cpu = process.cpuUsage(cpu0);

      // One at a time: the next incident only after the previous ticket's ack (no queueing behind packages).
      process.stderr.write(`bench dispatch: ${m} incidents one at a time…\n`);
      const single = zones.slice(n + 1).map((z) => z.id);
      for (let i = n + 1; i < n + 1 + m; i++) {
        confirm(i);
        await waitAcked([zones[i]!.id], 60_000);
      }
      await stage.idle(); // the full-resolution packages, cut after their tickets went out
      if (stage.counts.created !== n + m + 1 || stage.counts.tickets !== n + m + 1) throw new Error(`expected ${n + m + 1} incidents and tickets: ${JSON.stringify(stage.counts)}`);

      const p = summarize(paced);
      const s = summarize(single);
      const allEvidence = [...p.evidence, ...s.evidence];
      return {
        bench: 'dispatch',
        p50Ms: round(percentile(p.confToAck, 50)),
        p95Ms: round(percentile(p.confToAck, 95)),
        targetP95Ms: 500,
        ackAfterOutboxP50Ms: round(percentile(p.outbox, 50)),
        ackAfterOutboxP95Ms: round(percentile(p.outbox, 95)),
        evidenceMsPerIncident: round(mean(allEvidence)),
        snapshotMsPerIncident: round(mean([...snapshotMs.values()])),
        incidents: n,
        intervalMs,
        brokerStartMs: Math.round(brokerStartMs),
        paced: {
          confirmationToAckMs: stats(p.confToAck),
          queueWaitMs: stats(p.queueWait),
          evidenceMs: stats(p.evidence),
          ticketToAckMs: stats(p.ticketToAck),
          outboxToAckMs: stats(p.outbox),
          throughputIncidentsPerSec: round(n / wallSec),
          nodeCpuMsPerIncident: round((cpu.user + cpu.system) / 1000 / n),
        },
        oneAtATime: {
          incidents: m,
          p50Ms: round(percentile(s.confToAck, 50)),
          p95Ms: round(percentile(s.confToAck, 95)),
          evidenceMs: stats(s.evidence),
          ticketToAckMs: stats(s.ticketToAck),
          outboxToAckMs: stats(s.outbox),
        },
        evidenceMs: { ...stats(allEvidence), n: allEvidence.length },
        stageConnectMs: Math.round(connectMs),
        counts: { ...stage.counts },
        video: `${ASSET} (1920×1080 H.264, file source, not real time: full-resolution stills and the clip cut from the file)`,
        note: "p50Ms/p95Ms: paced run, onHit (confirmation) → broker ack (acks=-1, idempotent producer), including the wait behind earlier incidents' packaging and its own; oneAtATime: the same with no queue; ackAfterOutbox*/outboxToAckMs: the relay's outbox row created → ack (ms resolution); ticketToAckMs: the same from onTicket, sub-ms; evidenceMs: the packager's own elapsedMs for the full-resolution package (stills + clip, revision 2, cut after the ticket went out); snapshotMsPerIncident: the instant package the ticket carries (revision 1); counts include one warm-up incident, excluded from the numbers",
      };
    } finally {
      await stage.stop();
    }
  } finally {
    await stopBroker();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    rmSync(dir, { recursive: true, force: true });
  }
}
