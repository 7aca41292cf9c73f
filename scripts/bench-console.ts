import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import WebSocket from 'ws';
import { configSchema } from '../config/schema.js';
import { createLogger } from '../core/log.js';
import { createMetrics } from '../core/metrics.js';
import { EvidenceReader } from '../console/evidence.js';
import { startHttpServer } from '../console/server.js';
import { IncidentStore } from '../dispatcher/incidents/store.js';
import type { Hit } from '../rules/types.js';
import { stats } from './stats.js';

/**
 * `npm run bench -- console`: how fast the console answers with a district's worth of history in the store.
 *  - feed: a new incident written to the store → its 'created' message received by each of
 *    BENCH_CONSOLE_CLIENTS WebSocket clients (the "within 1 s"), p50/p95/max over
 *    BENCH_CONSOLE_NEW incidents written 100 ms apart;
 *  - api: ms of GET /api/incidents (100, filtered by type), /api/analytics (30 days) and /api/scoreboard over
 *    BENCH_CONSOLE_HISTORY incidents already stored (default 20,000, spread over 30 days, 500 cameras).
 */
const HISTORY = Number(process.env.BENCH_CONSOLE_HISTORY ?? 20_000);
const NEW = Number(process.env.BENCH_CONSOLE_NEW ?? 50);
const CLIENTS = Number(process.env.BENCH_CONSOLE_CLIENTS ?? 20);
const TOKEN = 'bench-console-command-token';
const DAY = 86_400_000;
const TYPES = ['stall', 'door_front', 'stacking'] as const;


function hit(i: number, atMs: number): Hit {
  const type = TYPES[i % 3]!;
  return {
    type,
    cameraId: `cam-${i % 500}`,
    zoneId: `z${i}`,
    box: [0.1, 0.1, 0.2, 0.2],
    score: 0.9,
    firstSeenMs: atMs - 30_000,
    atMs,
    dwellSec: 30,
    trackIds: [i],
    objects: [{ trackId: i, semantic: 'static_object', detector: i % 2 ? 'static-object' : 'yolox-nano-416' }],
    frame: { cameraId: `cam-${i % 500}`, seq: i, wallMs: atMs },
    ...(type === 'door_front' && { shop: { id: `shop-${i % 300}`, name: `店 ${i % 300}` } }),
    shadow: false,
  };
}

export async function benchConsole(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'sw-bench-console-'));
  const store = new IncidentStore(join(dir, 'streetwatch.db'), (() => {
    let n = 0;
    return () => `inc-${++n}`;
  })());
  store.start();
  const now = Date.now();
  const params = { cooldownMs: 0, sameSpotMeters: 25 };
  const seedStart = performance.now();
  for (let i = 0; i < HISTORY; i++) {
    const at = now - 30 * DAY + Math.floor((i / HISTORY) * 30 * DAY);
    const r = store.recordHit(hit(i, at), params, at);
    store.addTicket({ incidentId: r.incident!.id, squad: `sq-${i % 12}`, ticket: { squad: { id: `sq-${i % 12}`, name: 'x' } }, topic: 't' }, at);
  }
  const seedMs = performance.now() - seedStart;
  const config = configSchema.parse({ version: 1, console: { tokens: [{ name: 'bench', role: 'command', token: TOKEN }] } });
  const log = createLogger({ level: 'warn' });
  const http = await startHttpServer({ host: '127.0.0.1', port: 0, metrics: createMetrics(new Registry()), log, config: () => config, baseDir: dir, store, evidence: new EvidenceReader(join(dir, 'evidence'), () => undefined) });
  const headers = { authorization: `Bearer ${TOKEN}` };
  const timeGet = async (path: string, n = 10) => {
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const r = await fetch(`${http.url}${path}`, { headers });
      await r.arrayBuffer();
      if (!r.ok) throw new Error(`${path}: ${r.status}`);
      ms.push(performance.now() - t);
    }
    return stats(ms);
  };
  const api = {
    incidents: await timeGet('/api/incidents?limit=100&type=stall'),
    analytics: await timeGet('/api/analytics'),
    scoreboard: await timeGet('/api/scoreboard'),
  };

  const written = new Map<string, number>();
  const latency: number[] = [];
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, () =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`${http.url.replace('http', 'ws')}/api/events?token=${TOKEN}`);
        ws.on('message', (d) => {
          const m = JSON.parse(String(d)) as { change?: string; incident?: { id: string } };
          const t0 = m.change === 'created' && m.incident ? written.get(m.incident.id) : undefined;
          if (t0 !== undefined) latency.push(performance.now() - t0);
        });
        ws.on('open', () => resolve(ws));
        ws.on('error', reject);
      }),
    ),
  );
  for (let i = 0; i < NEW; i++) {
    const t = performance.now();
    const r = store.recordHit(hit(HISTORY + i, Date.now()), params, Date.now());
    written.set(r.incident!.id, t);
    await new Promise((res) => setTimeout(res, 100));
  }
  await new Promise((res) => setTimeout(res, 1500));
  for (const ws of clients) ws.close();
  await http.stop();
  store.stop();
  rmSync(dir, { recursive: true, force: true });
  return {
    history: HISTORY,
    seedMsPerIncident: Math.round((seedMs / HISTORY) * 1000) / 1000,
    apiMs: api,
    feed: { clients: CLIENTS, incidents: NEW, received: latency.length, expected: NEW * CLIENTS, latencyMs: stats(latency), target: 'p95 < 1000 ms' },
  };
}
