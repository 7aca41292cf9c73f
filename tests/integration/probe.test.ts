import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreetwatchError } from '../../core/errors.js';
import { PROJECT_ROOT } from '../../core/paths.js';
import { measureGop, probeSource } from '../../pipeline/probe.js';
import { freePort } from '../helpers/net.js';

const OXFORD = join(PROJECT_ROOT, '../shared/media/oxford_towncentre_pedestrians.mp4');
let dir: string;

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60_000 });
}

/** A 320x240 H.264 test clip whose keyframes are exactly every `gop` frames (no scene-cut keyframes, no B-frames). */
function clip(name: string, seconds: number, gop: number): string {
  const out = join(dir, name);
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=25`, '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast',
    '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-bf', '0', '-pix_fmt', 'yuv420p', out]);
  return out;
}

async function rejection(p: Promise<unknown>): Promise<StreetwatchError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(StreetwatchError);
    return e as StreetwatchError;
  }
  throw new Error('expected the probe to fail');
}

let gop50: string;
let longGop: string;
let oneKey: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'streetwatch-probe-'));
  gop50 = clip('gop50.mp4', 10, 50);
  longGop = clip('gop300.mp4', 14, 300);
  oneKey = clip('onekey.mp4', 5, 1000);
  ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac', join(dir, 'audio.m4a')]);
  writeFileSync(join(dir, 'corrupt.mp4'), randomBytes(8192));
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('probeSource on files', () => {
  it('measures the real Oxford Town Centre clip', async () => {
    const r = await probeSource(OXFORD);
    expect(r).toMatchObject({ codec: 'h264', width: 1920, height: 1080, fps: 25, durationSec: 3.84 });
    // Cross-checked by hand: ffprobe flags K on packets 0, 12, 24 … 84 (pts 0, 0.48 … 3.36).
    expect(r.gop).toEqual({ frames: 12, seconds: 0.48, min: 12, max: 12, sampledKeyframes: 8 });
    expect(r.keyframeSampling.suitable).toBe(true);
    expect(r.keyframeSampling.recommended).toEqual({ mode: 'keyframes' });
  });

  it('finds the GOP an encoder was told to use (50 frames = 2 s at 25 fps)', async () => {
    const r = await probeSource(gop50);
    expect(r).toMatchObject({ codec: 'h264', width: 320, height: 240, fps: 25 });
    expect(r.gop).toEqual({ frames: 50, seconds: 2, min: 50, max: 50, sampledKeyframes: 5 });
    expect(r.keyframeSampling.suitable).toBe(true);
  });

  it('reads only the requested window of packets', async () => {
    const r = await probeSource(gop50, { seconds: 5 });
    // keyframes at 0, 2 and 4 s; the one at 6 s lies outside the window
    expect(r.gop?.sampledKeyframes).toBe(3);
    expect(r.gop?.frames).toBe(50);
  });

  it('says keyframe sampling does not suit a 12 s GOP and recommends fps sampling', async () => {
    const r = await probeSource(longGop);
    expect(r.gop).toMatchObject({ frames: 300, seconds: 12, sampledKeyframes: 2 });
    expect(r.keyframeSampling.suitable).toBe(false);
    expect(r.keyframeSampling.recommended).toEqual({ mode: 'fps', fps: 1 });
    expect(r.keyframeSampling.reason).toMatch(/12 s/);
    expect(r.keyframeSampling.reason).toMatch(/mode: fps, fps: 1/);
  });

  it('reports an unmeasurable GOP when only one keyframe is in the window', async () => {
    const r = await probeSource(oneKey);
    expect(r.gop).toBeNull();
    expect(r.keyframeSampling.suitable).toBe(false);
    expect(r.keyframeSampling.reason).toMatch(/fewer than 2 keyframes in the whole 5 s file/);
  });

  it('fails with SOURCE_NOT_FOUND on a missing path, naming it', async () => {
    const missing = join(dir, 'no-such-video.mp4');
    const e = await rejection(probeSource(missing));
    expect(e.code).toBe('SOURCE_NOT_FOUND');
    expect(e.message).toContain(missing);
  });

  it('fails with SOURCE_NO_VIDEO on an audio-only file, saying what it found', async () => {
    const e = await rejection(probeSource(join(dir, 'audio.m4a')));
    expect(e.code).toBe('SOURCE_NO_VIDEO');
    expect(e.message).toMatch(/audio aac/);
  });

  it('fails with SOURCE_CORRUPT on bytes that are no video', async () => {
    const e = await rejection(probeSource(join(dir, 'corrupt.mp4')));
    expect(e.code).toBe('SOURCE_CORRUPT');
    expect(e.message).toContain('corrupt.mp4');
  });
});

describe('probeSource on RTSP', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  /** A TCP server on 127.0.0.1; `reply` answers each RTSP request (or stays silent when it returns undefined). */
  async function rtspServer(reply: (cseq: string) => string | undefined): Promise<number> {
    const server = createNetServer((sock) => {
      sockets.push(sock);
      sock.on('data', (d) => {
        const cseq = /CSeq:\s*(\d+)/i.exec(d.toString())?.[1] ?? '1';
        const text = reply(cseq);
        if (text) sock.write(text);
      });
      sock.on('error', () => undefined);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as { port: number }).port;
  }


  it('fails fast with a retriable SOURCE_UNREACHABLE when nothing listens, without leaking the password', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const e = await rejection(probeSource(`rtsp://admin:s3cret@127.0.0.1:${port}/Streaming/Channels/101`));
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(e.code).toBe('SOURCE_UNREACHABLE');
    expect(e.retriable).toBe(true);
    expect(e.message).toContain(`127.0.0.1:${port}`);
    expect(JSON.stringify(e.toJSON())).not.toContain('s3cret');
  });

  it('maps a 401 answer to SOURCE_AUTH_FAILED', async () => {
    const port = await rtspServer((cseq) => `RTSP/1.0 401 Unauthorized\r\nCSeq: ${cseq}\r\nWWW-Authenticate: Basic realm="cam"\r\n\r\n`);
    const e = await rejection(probeSource(`rtsp://admin:s3cret@127.0.0.1:${port}/live`));
    expect(e.code).toBe('SOURCE_AUTH_FAILED');
    expect(e.retriable).toBe(false);
    expect(e.message).toMatch(/password/);
    expect(JSON.stringify(e.toJSON())).not.toContain('s3cret');
  });

  it('gives up on a server that accepts the connection and never answers', async () => {
    const port = await rtspServer(() => undefined);
    const t0 = Date.now();
    const e = await rejection(probeSource(`rtsp://127.0.0.1:${port}/live`, { timeoutSec: 1 }));
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(e.code).toBe('SOURCE_UNREACHABLE');
    expect(e.retriable).toBe(true);
  });
});

describe('measureGop', () => {
  it('uses packet counts for frames and timestamps for seconds, over complete GOPs only', () => {
    const pk = (t: number, k = false) => ({ pts_time: t.toFixed(6), flags: k ? 'K_' : '__' });
    // A live stream joined mid-GOP: two leading non-key packets, then gaps of 3 and 5 packets at 10 fps.
    const packets = [pk(0), pk(0.1), pk(0.2, true), pk(0.3), pk(0.4), pk(0.5, true), pk(0.6), pk(0.7), pk(0.8), pk(0.9), pk(1.0, true), pk(1.1)];
    expect(measureGop(packets, 10)).toEqual({ frames: 4, seconds: 0.4, min: 3, max: 5, sampledKeyframes: 3 });
    expect(measureGop([pk(0, true), pk(0.1)], 10)).toBeNull();
  });
});

describe('streetwatch probe (CLI)', () => {
  const cli = join(PROJECT_ROOT, 'bin/streetwatch.js');
  function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [cli, ...args], { cwd: PROJECT_ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
  }

  it('prints parseable JSON with --json and exits 0', async () => {
    const r = await runCli(['probe', gop50, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ codec: 'h264', width: 320, height: 240, fps: 25, gop: { frames: 50, seconds: 2 } });
    expect(j.keyframeSampling.suitable).toBe(true);
  }, 60_000);

  it('prints a human summary by default', async () => {
    const r = await runCli(['probe', OXFORD]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/resolution:\s+1920x1080/);
    expect(r.stdout).toMatch(/GOP \(measured\):\s+12 frames \/ 0\.48 s/);
    expect(r.stdout).toMatch(/keyframe sampling:\s+suitable/);
  }, 60_000);

  it('exits 1 with the error code on a missing file', async () => {
    const r = await runCli(['probe', join(dir, 'nope.mp4')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nope\.mp4 does not exist.*\[SOURCE_NOT_FOUND\]/);
  }, 60_000);
});
