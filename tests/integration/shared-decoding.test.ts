import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DecodePool } from '../../pipeline/decode-pool.js';
import { SharedDecoder } from '../../pipeline/ffmpeg/shared-decoder.js';
import { ensureTestClip } from '../helpers/media.js';
import { testCamera } from '../helpers/factories.js';
import { memoryLogger, metricValue, runCamera, type Harness } from '../helpers/pipeline.js';
import { listProcesses } from '../helpers/processes.js';
import { startRtspServer, type RtspTestServer } from '../helpers/rtsp-server.js';
import { waitFor } from '../helpers/wait.js';

// Shared decoding with the real thing: GStreamer's RTSP server, the cameras' receiver ffmpegs (ring +
// keyframes as FLV) and the shared decoder ffmpegs.
let server: RtspTestServer;
let clip: string;
const harnesses: Harness[] = [];
const pools: DecodePool[] = [];
const decoders: SharedDecoder[] = [];

beforeAll(async () => {
  clip = await ensureTestClip({ seconds: 10, width: 640, height: 360, fps: 25, gop: 25 });
  server = await startRtspServer({ mounts: { '/cam': clip }, loop: true });
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.runner.stop()));
  await Promise.all([...pools.splice(0).map((p) => p.stop()), ...decoders.splice(0).map((d) => d.stop())]);
});

function pool(processes = 1, maxPending = 64, hungAfterMs?: number): DecodePool {
  const p = new DecodePool({ processes, maxPending, log: memoryLogger().log, stopStepMs: 1500, ...(hungAfterMs ? { hungAfterMs } : {}) });
  pools.push(p);
  return p;
}

function camera(id: string, decodePool: DecodePool, over: Partial<Parameters<typeof testCamera>[0]> = {}): Harness {
  const h = runCamera(testCamera({ id, source: { kind: 'rtsp', url: server.url('/cam'), transport: 'tcp', timeoutSec: 2 }, ...over }), { decodePool });
  harnesses.push(h);
  return h;
}

/** The clip's keyframes as Annex B access units (SPS/PPS in front of each), cut by ffmpeg itself. */
function keyframes(file: string): Buffer[] {
  const annexB = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v:0', '-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb,noise=drop=not(key)', '-f', 'h264', 'pipe:1'], { maxBuffer: 1 << 28 });
  const starts: number[] = [];
  for (let i = 0; i + 4 < annexB.length; i++) {
    // each keyframe starts with its SPS (NAL type 7) after a 4-byte start code
    if (annexB[i] === 0 && annexB[i + 1] === 0 && annexB[i + 2] === 0 && annexB[i + 3] === 1 && (annexB[i + 4]! & 0x1f) === 7) starts.push(i);
  }
  return starts.map((s, k) => annexB.subarray(s, starts[k + 1] ?? annexB.length));
}

describe('shared decoder (one ffmpeg, many cameras)', () => {
  it('answers each keyframe with its own picture, in order, each as soon as it is decoded (nothing behind it to push it out)', async () => {
    const kfs = keyframes(clip);
    expect(kfs.length).toBe(10);
    // No filler would come for an hour: an answer that waited for the next input would never arrive.
    const d = new SharedDecoder({ width: 160, height: 90 }, { fillerMs: 3_600_000 });
    decoders.push(d);
    d.start();
    const pics: Buffer[] = [];
    for (const k of [0, 1, 2, 1]) {
      const o = await d.decode(kfs[k]!);
      expect(o.ok).toBe(true);
      pics.push(o.ok ? o.data : Buffer.alloc(0));
    }
    expect(pics[0]!.length).toBe(160 * 90 * 3);
    // the same keyframe twice gives the same picture; another keyframe a different one
    expect(pics[3]!.equals(pics[1]!)).toBe(true);
    expect(pics[2]!.equals(pics[1]!)).toBe(false);
    expect(d.fillersSent).toBe(0);
    await d.stop();
    await d.stop(); // idempotent
    expect((await d.decode(kfs[0]!)).ok).toBe(false);
  });

  it('a garbage keyframe is answered undecodable: by the next picture, or by a filler when none follows', async () => {
    const kfs = keyframes(clip);
    const d = new SharedDecoder({ width: 160, height: 90 });
    decoders.push(d);
    d.start();
    const garbage = Buffer.concat([Buffer.from([0, 0, 0, 1, 0x65]), Buffer.alloc(300, 0xff)]);
    const all = await Promise.all([d.decode(kfs[1]!), d.decode(garbage), d.decode(kfs[2]!)]);
    expect(all.map((o) => (o.ok ? 'ok' : o.reason))).toEqual(['ok', 'undecodable', 'ok']);
    // last in line: only a filler's picture can tell that it gave none
    expect(await d.decode(garbage)).toEqual({ ok: false, reason: 'undecodable' });
    expect(d.fillersSent).toBeGreaterThan(0);
    await d.stop();
  });
});

describe('cameras on the shared decoders', () => {
  it('an RTSP camera: its ffmpeg only receives (no decoding), the pool decodes its keyframes, frames of the configured size', async () => {
    const p = pool(1);
    const h = camera('cam-shared', p);
    await h.runner.start();
    await waitFor(() => h.frames.length >= 6, 20_000, '6 frames');
    const gaps = h.frames.slice(1).map((f, i) => f.ptsSec - h.frames[i]!.ptsSec);
    expect(gaps.reduce((a, b) => a + b, 0) / gaps.length).toBeCloseTo(1, 0); // GOP 1 s
    expect(h.frames[0]!.data.length).toBe(320 * 180 * 3);
    expect(h.runner.status().state).toBe('up');
    const ffmpegs = (await listProcesses('ffmpeg')).filter((x) => x.ppid === process.pid);
    const receiver = ffmpegs.find((x) => x.cmd.includes(server.url('/cam')))!;
    expect(receiver.cmd).toContain('-f flv pipe:1');
    expect(receiver.cmd).not.toContain('-skip_frame');
    expect(receiver.cmd).not.toContain('scale=');
    expect(p.pids()).toHaveLength(1);
    expect(ffmpegs.map((x) => x.pid)).toContain(p.pids()[0]);
  });

  it('the receiver runs at decoding.receiverNice, the shared decoder at our own priority', async () => {
    const p = new DecodePool({ processes: 1, maxPending: 64, receiverNice: 7, log: memoryLogger().log, stopStepMs: 1500 });
    pools.push(p);
    const h = camera('cam-nice', p);
    await h.runner.start();
    await waitFor(() => h.frames.length >= 1, 20_000, 'a frame');
    const receiver = (await listProcesses('ffmpeg')).find((x) => x.ppid === process.pid && x.cmd.includes(server.url('/cam')))!;
    expect(getPriority(receiver.pid)).toBe(7);
    expect(getPriority(p.pids()[0]!)).toBe(getPriority(0));
  });

  it('sampling.minIntervalSec 2 on a 1 s GOP: one keyframe in two is decoded (frames 2 s apart)', async () => {
    const h = camera('cam-every2', pool(1), { sampling: { mode: 'keyframes', minIntervalSec: 2 } });
    await h.runner.start();
    await waitFor(() => h.frames.length >= 4, 30_000, '4 frames');
    const gaps = h.frames.slice(1).map((f, i) => f.ptsSec - h.frames[i]!.ptsSec);
    for (const g of gaps) expect(g).toBeCloseTo(2, 0);
  });

  it('two cameras on one decoder: each gets its own frames, in order', async () => {
    const p = pool(1);
    const a = camera('cam-a', p);
    const b = camera('cam-b', p, { frame: { width: 320, height: 180 } });
    await Promise.all([a.runner.start(), b.runner.start()]);
    await waitFor(() => a.frames.length >= 4 && b.frames.length >= 4, 20_000, '4 frames each');
    expect(p.pids()).toHaveLength(1);
    for (const h of [a, b]) {
      expect(new Set(h.frames.map((f) => f.cameraId)).size).toBe(1);
      const seqs = h.frames.map((f) => f.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      const pts = h.frames.map((f) => f.ptsSec);
      expect(pts).toEqual([...pts].sort((x, y) => x - y));
    }
  });

  it('a file read as fast as possible: every keyframe decoded, none dropped, then the camera ends', async () => {
    const h = runCamera(testCamera({ id: 'cam-file', source: { kind: 'file', path: clip, loop: false, realtime: false } }), { decodePool: pool(1, 1) });
    harnesses.push(h);
    await h.runner.start();
    await waitFor(() => h.runner.status().state === 'ended', 30_000, 'the file to end');
    expect(h.frames.map((f) => Math.round(f.ptsSec))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await metricValue(h.metrics, 'streetwatch_frames_dropped_total', {})).toBe(0);
  });

  // Killed: it exits and is replaced at the next keyframe. Hung (SIGSTOP): it stops answering, and after
  // hungAfterMs the pool kills it (SIGKILL reaches a stopped process) and starts another.
  // A killed one usually dies between two keyframes (it holds one for ~20 ms a second); a hung one piles
  // up the keyframes sent to it meanwhile, and those are dropped.
  it.each<[string, NodeJS.Signals, boolean]>([
    ['killed', 'SIGKILL', false],
    ['hung', 'SIGSTOP', true],
  ])('a shared decoder %s: a new one takes over and frames resume; keyframes it held are counted dropped (decoder_exit)', async (what, signal, heldSome) => {
    const p = pool(1, 64, 3000);
    const h = camera(`cam-${what}`, p);
    await h.runner.start();
    await waitFor(() => h.frames.length >= 2, 20_000, 'first frames');
    const [pid] = p.pids();
    process.kill(pid!, signal);
    await waitFor(() => p.pids().length === 1 && p.pids()[0] !== pid, 30_000, 'a new decoder');
    const n = h.frames.length;
    await waitFor(() => h.frames.length >= n + 3, 20_000, 'frames after the new decoder');
    await waitFor(async () => !(await listProcesses('ffmpeg')).some((x) => x.pid === pid), 10_000, 'the old decoder reaped');
    const dropped = await metricValue(h.metrics, 'streetwatch_frames_dropped_total', { camera: `cam-${what}`, reason: 'decoder_exit' });
    if (heldSome) expect(dropped).toBeGreaterThan(0);
    expect(h.runner.status().state).toBe('up');
    expect(h.runner.status().reconnects).toBe(0); // the camera itself never went down
  });

  it('an H.265 camera is decoded in its own ffmpeg (FLV carries no H.265 in ffmpeg 5.1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sw-hevc-'));
    const hevc = join(dir, 'hevc.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-i', clip, '-t', '4', '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'keyint=25:min-keyint=25:log-level=error', '-tag:v', 'hvc1', hevc]);
    const h = runCamera(testCamera({ id: 'cam-hevc', source: { kind: 'file', path: hevc, loop: false, realtime: false } }), { decodePool: pool(1) });
    harnesses.push(h);
    await h.runner.start();
    await waitFor(() => h.runner.status().state === 'ended', 30_000, 'the file to end');
    expect(h.runner.status().codec).toBe('hevc');
    expect(h.frames.length).toBe(4);
    expect(h.lines.some((l) => String(l.msg).includes('decoding this camera in its own ffmpeg'))).toBe(true);
  });
});
