import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedCamera } from '../../config/schema.js';
import { LiveHub } from '../../console/live/hub.js';
import { registerLiveRoute } from '../../console/live/route.js';
import { ensureTestClip } from '../helpers/media.js';
import { testCamera } from '../helpers/factories.js';
import { memoryLogger } from '../helpers/pipeline.js';
import { listProcesses } from '../helpers/processes.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { startRtspServer, type RtspTestServer } from '../helpers/rtsp-server.js';

// The real thing end to end: GStreamer's RTSP server serving the real Oxford street clip (H.264 1280×720),
// real ffmpeg transcoding it to MPEG-1, a real fastify server with @fastify/websocket, and real `ws` clients
// (the same ws that @fastify/websocket uses; the project has no types for it, hence the narrow interface).
interface WsClient {
  readyState: number;
  on(event: 'message', cb: (data: Buffer, isBinary: boolean) => void): void;
  on(event: 'close', cb: (code: number, reason: Buffer) => void): void;
  on(event: 'error', cb: (e: Error) => void): void;
  once(event: 'open', cb: () => void): void;
  once(event: 'error', cb: (e: Error) => void): void;
  close(): void;
}
const requireFromPlugin = createRequire(createRequire(import.meta.url).resolve('@fastify/websocket'));
const WebSocket = requireFromPlugin('ws') as new (url: string) => WsClient;

const TOKEN = 'live-test-token-0123456789';
const LINGER_SEC = 1;

let server: RtspTestServer;
let app: FastifyInstance;
let hub: LiveHub;
let base: string;
let lines: Record<string, unknown>[];
let url: string;
const tmp = mkdtempSync(join(tmpdir(), 'sw-live-'));

beforeAll(async () => {
  const clip = await ensureTestClip({ seconds: 10, width: 1280, height: 720, fps: 25, gop: 25 });
  server = await startRtspServer({ mounts: { '/cam': clip }, loop: true });
  url = server.url('/cam');
  const cam = (id: string): ResolvedCamera =>
    testCamera({ id, source: { kind: 'rtsp', url, transport: 'tcp', timeoutSec: 2 }, reconnect: { initialSec: 0.5, maxSec: 2, factor: 2, jitter: 0.2 } });
  const cameras = [cam('street-1'), cam('street-2')];
  const logger = memoryLogger('info');
  lines = logger.lines;
  hub = new LiveHub({
    config: { width: 640, fps: 15, bitrateKbps: 800, maxStreams: 1, lingerSec: LINGER_SEC },
    log: logger.log,
    camera: (id) => {
      const camera = cameras.find((c) => c.id === id);
      return camera && { camera, baseDir: tmp };
    },
    stopStepMs: 1000,
  });
  await hub.start();
  app = Fastify({ logger: false });
  await app.register(websocket);
  registerLiveRoute(app, hub, async (req, reply) => {
    if ((req.query as { token?: string }).token !== TOKEN) await reply.code(401).send({ error: 'CONSOLE_UNAUTHORIZED', message: 'no token' });
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  base = address.replace(/^http/, 'ws');
});

afterAll(async () => {
  await hub?.stop();
  await app?.close();
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** This test process's live ffmpeg processes (the transcoders reading our RTSP server). */
async function liveFfmpegs(): Promise<number[]> {
  return (await listProcesses('ffmpeg')).filter((p) => p.ppid === process.pid && p.cmd.includes(url) && p.cmd.includes('mpeg1video')).map((p) => p.pid);
}

interface Viewer {
  ws: WsClient;
  messages: Buffer[];
  bytesAfterHeader: () => number;
  closed: Promise<{ code: number; reason: string }>;
}

/** `token` null: no token at all. */
function view(camera: string, token: string | null = TOKEN): Promise<Viewer> {
  const ws = new WebSocket(`${base}/api/live/${camera}${token === null ? '' : `?token=${token}`}`);
  const messages: Buffer[] = [];
  ws.on('message', (d) => messages.push(Buffer.from(d)));
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    ws.once('open', () =>
      resolve({ ws, messages, closed, bytesAfterHeader: () => messages.slice(1).reduce((n, m) => n + m.length, 0) }),
    );
    ws.once('error', reject);
  });
}

async function leave(v: Viewer): Promise<void> {
  v.ws.close();
  await v.closed;
}

describe('live view over WebSocket (real RTSP, ffmpeg, fastify)', () => {
  it('refuses a request without a valid token before the upgrade (HTTP 401), and starts nothing', async () => {
    await expect(view('street-1', null)).rejects.toThrow(/401/);
    await expect(view('street-1', 'wrong-token-wrong-token')).rejects.toThrow(/401/);
    expect(await liveFfmpegs()).toEqual([]);
    expect(hub.status('street-1')).toEqual({ available: true, viewers: 0, running: false });
  });

  let a: Viewer;
  it('first viewer: ffmpeg starts; the jsmp header with the scaled size comes first, then MPEG-TS packets', async () => {
    expect(await liveFfmpegs()).toEqual([]);
    a = await view('street-1');
    await waitFor(() => a.bytesAfterHeader() > 188 * 200, 20_000, '200 TS packets');
    const header = a.messages[0]!;
    expect(header.length).toBe(8);
    expect(header.subarray(0, 4).toString('ascii')).toBe('jsmp');
    expect([header.readUInt16BE(4), header.readUInt16BE(6)]).toEqual([640, 360]);
    const ts = Buffer.concat(a.messages.slice(1));
    const packets = Math.floor(ts.length / 188);
    for (let i = 0; i < packets; i++) expect(ts[i * 188], `sync byte of packet ${i}`).toBe(0x47);
    // what ffmpeg actually wrote is MPEG-1 at that size
    const file = join(tmp, 'first.ts');
    writeFileSync(file, ts.subarray(0, packets * 188));
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', file], { encoding: 'utf8' }));
    expect(probe.streams[0]).toMatchObject({ codec_name: 'mpeg1video', width: 640, height: 360 });
    expect((await liveFfmpegs()).length).toBe(1);
    expect(hub.status('street-1')).toEqual({ available: true, viewers: 1, running: true });
  });

  let b: Viewer;
  it('a second viewer shares the same ffmpeg; a viewer of another camera is refused at maxStreams (1013)', async () => {
    const before = await liveFfmpegs();
    b = await view('street-1');
    await waitFor(() => b.bytesAfterHeader() > 188 * 20, 10_000, 'data for the second viewer');
    expect(b.messages[0]!.subarray(0, 4).toString('ascii')).toBe('jsmp');
    expect(await liveFfmpegs()).toEqual(before);
    expect(hub.status('street-1').viewers).toBe(2);

    const other = await view('street-2');
    const refused = await other.closed;
    expect(refused.code).toBe(1013);
    expect(refused.reason).toContain('console.live.maxStreams');
    expect(await liveFfmpegs()).toEqual(before);
  });

  it('the camera dies and comes back: the still-connected viewer gets video again (header not repeated)', async () => {
    const pid = (await liveFfmpegs())[0]!;
    await server.kill();
    await waitFor(async () => !(await liveFfmpegs()).includes(pid), 10_000, 'ffmpeg exit after the camera died');
    await server.restart();
    const got = a.bytesAfterHeader();
    await waitFor(() => a.bytesAfterHeader() > got + 188 * 100, 20_000, 'video again after the camera came back');
    expect(a.ws.readyState).toBe(1);
    expect(a.messages.filter((m) => m.length === 8 && m.subarray(0, 4).toString('ascii') === 'jsmp').length).toBe(1);
    expect((await liveFfmpegs()).length).toBe(1);
    expect(lines.some((l) => String(l.msg).startsWith('live stream down, restarting'))).toBe(true);
  });

  it('the last viewer leaves: ffmpeg stays for lingerSec, then it is gone', async () => {
    const pids = await liveFfmpegs();
    expect(pids.length).toBe(1);
    await leave(b);
    await leave(a);
    const leftAt = Date.now();
    await sleep(LINGER_SEC * 500);
    expect(await liveFfmpegs()).toEqual(pids);
    await waitFor(async () => (await liveFfmpegs()).length === 0, LINGER_SEC * 1000 + 5000, 'ffmpeg gone after the linger');
    expect(Date.now() - leftAt).toBeGreaterThanOrEqual(LINGER_SEC * 1000);
    const left = (await listProcesses('')).filter((p) => pids.includes(p.pid));
    expect(left).toEqual([]); // reaped, no zombie
    expect(hub.status('street-1')).toEqual({ available: true, viewers: 0, running: false });

    // the slot is free again: the other camera can be viewed now
    const c = await view('street-2');
    await waitFor(() => c.bytesAfterHeader() > 188 * 20, 20_000, 'data for the other camera');
    await leave(c);
  });
});
