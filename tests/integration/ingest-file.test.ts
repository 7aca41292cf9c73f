import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveAsset } from '../../core/assets.js';
import { ensureTestClip, makeAudioOnlyFile, makeCorruptClip, makeUnsupportedCodecClip } from '../helpers/media.js';
import { testCamera } from '../helpers/factories.js';
import { metricValue, runCamera, type Harness } from '../helpers/pipeline.js';
import { listProcesses } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

// File sources through real ffmpeg: good files decode with correct sizes and timestamps; bad ones fail with a
// clear, coded error naming the camera and the cause, without retry loops.
const oxford = resolveAsset('oxford_towncentre_pedestrians.mp4');
const work = mkdtempSync(join(tmpdir(), 'sw-file-'));

let h: Harness | undefined;
afterEach(async () => {
  await h?.runner.stop();
  h = undefined;
});

function fileCamera(path: string, over: Parameters<typeof testCamera>[0] extends infer T ? Partial<T> : never = {}) {
  return testCamera({ id: 'cam-file', source: { kind: 'file', path, loop: false, realtime: false }, ...over });
}

async function settle(harness: Harness): Promise<void> {
  await harness.runner.start();
  await waitFor(() => ['ended', 'failed'].includes(harness.runner.status().state), 30_000, 'the camera to end or fail');
}

describe('file source', () => {
  it('fps sampling: exact frame size, evenly spaced PTS, wall times from the start, then ended', async () => {
    h = runCamera(fileCamera(oxford, { sampling: { mode: 'fps', fps: 5 }, frame: { width: 320, height: 180 } }));
    await settle(h);
    expect(h.runner.status().state).toBe('ended');
    // 3.84 s at 5 fps
    expect(h.frames.length).toBeGreaterThanOrEqual(19);
    expect(h.frames.length).toBeLessThanOrEqual(20);
    for (const [i, f] of h.frames.entries()) {
      expect(f.data.length).toBe(320 * 180 * 3);
      expect(f.seq).toBe(i);
      expect(f.ptsSec).toBeCloseTo(i * 0.2, 5);
      expect(f.wallMs - h.frames[0]!.wallMs).toBe(Math.round(i * 200));
    }
    // real picture content, not a blank buffer: the street has texture
    const px = h.frames[5]!.data;
    let min = 255;
    let max = 0;
    for (let i = 0; i < px.length; i += 97) {
      min = Math.min(min, px[i]!);
      max = Math.max(max, px[i]!);
    }
    expect(max - min).toBeGreaterThan(100);
    expect(await metricValue(h.metrics, 'streetwatch_frames_decoded_total', { camera: 'cam-file' })).toBe(h.frames.length);
  });

  it('keyframe sampling yields one frame per GOP', async () => {
    const clip = await ensureTestClip({ seconds: 10, width: 640, height: 360, fps: 25, gop: 25 });
    h = runCamera(fileCamera(clip, { sampling: { mode: 'keyframes', minIntervalSec: 0 } }));
    await settle(h);
    expect(h.frames.length).toBe(10);
    const gaps = h.frames.slice(1).map((f, i) => f.ptsSec - h!.frames[i]!.ptsSec);
    for (const g of gaps) expect(g).toBeCloseTo(1, 2);
  });

  it('looped file keeps going past its end with increasing PTS', async () => {
    h = runCamera(fileCamera(oxford, { source: { kind: 'file', path: oxford, loop: true, realtime: false }, sampling: { mode: 'fps', fps: 5 } }));
    await h.runner.start();
    await waitFor(() => h!.frames.length >= 45, 30_000, '45 frames from a 3.84 s clip looped');
    const pts = h.frames.map((f) => f.ptsSec);
    for (let i = 1; i < pts.length; i++) expect(pts[i]!).toBeGreaterThan(pts[i - 1]!);
    expect(h.runner.status().state).toBe('up');
  });

  it.each([
    ['a path that does not exist', () => join(work, 'nope.mp4'), 'SOURCE_NOT_FOUND', /does not exist/],
    ['a truncated file', async () => makeCorruptClip(await ensureTestClip({ seconds: 4, width: 320, height: 180, gop: 25 }), join(work, 'corrupt.mp4')), 'SOURCE_CORRUPT', /corrupt or truncated/],
    ['an unsupported codec', async () => makeUnsupportedCodecClip(join(work, 'ffv1.mkv')), 'SOURCE_UNSUPPORTED_CODEC', /codec 'ffv1'/],
    ['an audio-only file', async () => makeAudioOnlyFile(join(work, 'audio.m4a')), 'SOURCE_NO_VIDEO', /no video stream/],
  ])('%s fails with a clear error naming the camera, without retrying', async (_what, make, code, text) => {
    const path = await make();
    // read at its own rate, like a camera: the evidence ring is on, and with it the codec check
    h = runCamera(fileCamera(path as string, { source: { kind: 'file', path: path as string, loop: false, realtime: true }, ring: { enabled: true, segmentSec: 2, keepMinutes: 1, idleKeepSec: 60 } }));
    await settle(h);
    const st = h.runner.status();
    expect(st.state).toBe('failed');
    expect(st.lastError?.code).toBe(code);
    expect(st.lastError?.message).toMatch(/camera 'cam-file'/);
    expect(st.lastError?.message).toMatch(text);
    expect(st.reconnects).toBe(0);
    const logged = h.lines.find((l) => l.msg && String(l.msg).startsWith('camera failed'));
    expect(logged?.code).toBe(code);
  });

  it("starts the camera's ffmpeg with one decoder thread and one filter thread (fewer threads, less memory)", async () => {
    const clip = await ensureTestClip({ seconds: 10, width: 1920, height: 1080, fps: 25, gop: 50 });
    h = runCamera(fileCamera(clip, { source: { kind: 'file', path: clip, loop: true, realtime: true }, sampling: { mode: 'keyframes', minIntervalSec: 0 }, ring: { enabled: true, segmentSec: 2, keepMinutes: 1, idleKeepSec: 60 } }));
    await h.runner.start();
    await waitFor(() => h!.frames.length >= 2, 30_000, 'frames');
    const [ff] = (await listProcesses('ffmpeg')).filter((p) => p.ppid === process.pid && p.cmd.includes(h!.dataDir));
    const args = ff!.cmd.split(' ');
    const i = args.indexOf('-i');
    expect(args.slice(0, i).join(' ')).toContain('-threads 1');
    expect(args.join(' ')).toContain('-filter_threads 1');
    // Left to itself the H.264 decoder starts a frame thread per core (and more on bigger machines): here the
    // process keeps to ffmpeg's own few threads (main, demuxer/muxer helpers), whatever the core count.
    const threads = Number(/Threads:\s+(\d+)/.exec(readFileSync(`/proc/${ff!.pid}/status`, 'utf8'))![1]);
    expect(threads).toBeLessThanOrEqual(4);
  });

  it('stop() leaves no ffmpeg process behind, and is idempotent', async () => {
    h = runCamera(fileCamera(oxford, { source: { kind: 'file', path: oxford, loop: true, realtime: true }, sampling: { mode: 'fps', fps: 2 }, ring: { enabled: true, segmentSec: 1, keepMinutes: 1, idleKeepSec: 60 } }));
    await h.runner.start();
    await waitFor(() => h!.frames.length >= 2, 20_000, 'frames');
    const mine = async () => (await listProcesses('ffmpeg')).filter((p) => p.ppid === process.pid && p.cmd.includes(h!.dataDir));
    const before = await mine();
    expect(before.length).toBe(1);
    await Promise.all([h.runner.stop(), h.runner.stop()]);
    await h.runner.stop();
    expect(await mine()).toEqual([]);
    for (const p of before) expect((await listProcesses('')).find((q) => q.pid === p.pid)).toBeUndefined();
    expect(h.runner.status().state).toBe('stopped');
    // `q` let ffmpeg close its last ring segment: every segment is a readable MPEG-TS
    const ringDir = join(h.dataDir, 'ring', 'cam-file');
    const segs = readdirSync(ringDir);
    expect(segs.length).toBeGreaterThan(0);
    for (const s of segs) execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', join(ringDir, s)]);
  });
});
