import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTestClip } from '../helpers/media.js';
import { listProcesses } from '../helpers/processes.js';
import { startRtspServer, type RtspTestServer } from '../helpers/rtsp-server.js';
import { sleep } from '../helpers/wait.js';

// The test RTSP server itself (scripts/rtsp-test-server.py), which the ingest tests take on trust: a 10 s clip
// served in a loop must read like an endless camera stream, to several clients, and die and come back on demand.
const run = promisify(execFile);
const CLIP_SECONDS = 10;
let server: RtspTestServer;

beforeAll(async () => {
  const clip = await ensureTestClip({ seconds: CLIP_SECONDS, width: 640, height: 360, fps: 25, gop: 25 });
  server = await startRtspServer({ mounts: { '/cam': clip }, loop: true });
});
afterAll(async () => {
  await server?.stop();
});

/** Frames ffmpeg copied from `url` in `seconds` of stream time (`-c copy -f null`, nothing decoded). */
async function readFrames(url: string, seconds: number, transport: 'tcp' | 'udp'): Promise<number> {
  const { stdout } = await run(
    'ffmpeg',
    ['-nostdin', '-loglevel', 'error', '-rtsp_transport', transport, '-timeout', '5000000', '-i', url, '-t', String(seconds), '-c', 'copy', '-f', 'null', '-', '-progress', 'pipe:1', '-nostats'],
    { timeout: (seconds + 15) * 1000 },
  );
  const counts = [...stdout.matchAll(/^frame=(\d+)$/gm)].map((m) => Number(m[1]));
  return counts.at(-1) ?? 0;
}

/** Packet timestamps (90 kHz) ffprobe reads from `url` over TCP in `seconds` of stream time. */
async function packetTimes(url: string, seconds: number): Promise<number[]> {
  const { stdout } = await run(
    'ffprobe',
    ['-v', 'error', '-rtsp_transport', 'tcp', '-timeout', '5000000', '-read_intervals', `%+${seconds}`, '-select_streams', 'v:0', '-show_entries', 'packet=pts', '-of', 'csv=p=0', url],
    { timeout: (seconds + 15) * 1000 },
  );
  return stdout
    .split('\n')
    .map((l) => l.split(',')[0]!.trim())
    .filter((v) => /^\d+$/.test(v))
    .map(Number);
}

async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
}

function connectOutcome(port: number): Promise<'connected' | string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

describe('RTSP test server', () => {
  it('serves the clip as H.264 640×360 with an open-ended range, like a camera', async () => {
    const { stdout } = await run(
      'ffprobe',
      ['-v', 'error', '-rtsp_transport', 'tcp', '-show_entries', 'stream=codec_name,width,height:format=duration', '-of', 'json', server.url('/cam')],
      { timeout: 15_000 },
    );
    const info = JSON.parse(stdout) as { streams: { codec_name: string; width: number; height: number }[]; format: { duration?: string } };
    expect(info.streams).toHaveLength(1);
    expect(info.streams[0]).toMatchObject({ codec_name: 'h264', width: 640, height: 360 });
    expect(info.format.duration).toBeUndefined();
  });

  it('loops: 25 s read over TCP from a 10 s clip gives > 500 frames, copied without re-encoding', async () => {
    const reading = readFrames(server.url('/cam'), 25, 'tcp');
    // Sampled while the client reads, so the figure is the server's cost for one client.
    await sleep(3000);
    const pid = server.pid!;
    const t0 = Date.now();
    const c0 = await cpuTicks(pid);
    await sleep(15_000);
    const cpuPercent = (((await cpuTicks(pid)) - c0) * 10 * 100) / (Date.now() - t0); // 100 ticks/s on Linux
    const frames = await reading;
    expect(frames).toBeGreaterThan(500);
    // Payloading without re-encoding costs a few percent of a core; an encoder in the path would cost far more.
    expect(cpuPercent).toBeLessThan(25);
  });

  it('two clients at once (TCP and UDP) both get frames; the second one joining does not rewind the first', async () => {
    // A spans the clip's end (the media restarts at 0 for the first client after everyone left).
    const a = packetTimes(server.url('/cam'), 12);
    await sleep(3000);
    const bFrames = await readFrames(server.url('/cam'), 4, 'udp');
    const aPts = await a;
    expect(bFrames).toBeGreaterThan(50);
    expect(aPts.length).toBeGreaterThan(12 * 25 - 10);
    // One frame every 40 ms (3600 ticks at 90 kHz) all through: no jump back when B sent PLAY, nor at the loop.
    const steps = new Set(aPts.slice(1).map((t, i) => t - aPts[i]!));
    expect([...steps]).toEqual([3600]);
  });

  it('kill() drops the camera (connection refused); restart() serves again on the same port', async () => {
    const port = server.port;
    const oldPid = server.pid!;
    await server.kill();
    expect(server.pid).toBeUndefined();
    expect(await connectOutcome(port)).toBe('ECONNREFUSED');
    await expect(readFrames(server.url('/cam'), 2, 'tcp')).rejects.toThrow();
    // Killed and reaped: no zombie, no orphan.
    expect((await listProcesses('rtsp-test-server')).filter((p) => p.pid === oldPid)).toEqual([]);

    const t0 = Date.now();
    await server.restart();
    const startMs = Date.now() - t0;
    expect(server.port).toBe(port);
    expect(startMs).toBeLessThan(5000);
    expect(await readFrames(server.url('/cam'), 3, 'tcp')).toBeGreaterThan(50);
  });

  it('stop() ends the server at once, leaving no process behind', async () => {
    const pid = server.pid!;
    const t0 = Date.now();
    await server.stop();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await listProcesses('rtsp-test-server')).filter((p) => p.pid === pid)).toEqual([]);
    expect(await connectOutcome(server.port)).toBe('ECONNREFUSED');
  });
});
