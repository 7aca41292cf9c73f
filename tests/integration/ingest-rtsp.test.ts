import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureTestClip } from '../helpers/media.js';
import { testCamera } from '../helpers/factories.js';
import { metricValue, runCamera, type Harness } from '../helpers/pipeline.js';
import { listProcesses } from '../helpers/processes.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { startRtspServer, type RtspTestServer } from '../helpers/rtsp-server.js';

// Real RTSP: GStreamer's RTSP server serving a looped H.264 clip (1 s GOP, no B-frames) without re-encoding,
// read by real ffmpeg through the camera runner.
let server: RtspTestServer;
const harnesses: Harness[] = [];

beforeAll(async () => {
  const clip = await ensureTestClip({ seconds: 10, width: 640, height: 360, fps: 25, gop: 25 });
  server = await startRtspServer({ mounts: { '/cam': clip }, loop: true });
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.runner.stop()));
});

function rtspCamera(id: string, url: string, over: Partial<Parameters<typeof testCamera>[0]> = {}): Harness {
  const h = runCamera(testCamera({ id, source: { kind: 'rtsp', url, transport: 'tcp', timeoutSec: 2 }, ...over }));
  harnesses.push(h);
  return h;
}

describe('RTSP camera', () => {
  it('keyframe sampling: about one frame per GOP (1 s), full size frames, camera up', async () => {
    const h = rtspCamera('cam-key', server.url('/cam'), { sampling: { mode: 'keyframes', minIntervalSec: 0 } });
    await h.runner.start();
    await waitFor(() => h.frames.length >= 7, 20_000, '7 keyframes');
    const gaps = h.frames.slice(1).map((f, i) => f.ptsSec - h.frames[i]!.ptsSec);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(mean).toBeGreaterThan(0.9);
    expect(mean).toBeLessThan(1.1);
    expect(h.frames[0]!.data.length).toBe(320 * 180 * 3);
    expect(h.runner.status().state).toBe('up');
    expect(await metricValue(h.metrics, 'streetwatch_camera_up', { camera: 'cam-key' })).toBe(1);
  });

  it('fps sampling: 4 fps from a 25 fps stream', async () => {
    const h = rtspCamera('cam-fps', server.url('/cam'), { sampling: { mode: 'fps', fps: 4 } });
    await h.runner.start();
    await waitFor(() => h.frames.length >= 17, 20_000, '17 frames');
    const span = h.frames.at(-1)!.ptsSec - h.frames[0]!.ptsSec;
    expect((h.frames.length - 1) / span).toBeCloseTo(4, 0);
  });

  it('two cameras, one unreachable: the bad one is down and retried with backoff, the good one unaffected', async () => {
    const good = rtspCamera('cam-good', server.url('/cam'));
    const bad = rtspCamera('cam-bad', 'rtsp://admin:hunter2@127.0.0.1:1/stream');
    await Promise.all([good.runner.start(), bad.runner.start()]);
    await waitFor(() => bad.runner.status().reconnects >= 3, 20_000, 'three reconnect attempts');
    const st = bad.runner.status();
    expect(st.state === 'down' || st.state === 'starting').toBe(true);
    expect(st.lastError?.code).toBe('SOURCE_UNREACHABLE');
    expect(st.lastError?.message).toContain("camera 'cam-bad'");
    expect(st.lastError?.message).not.toContain('hunter2');
    for (const l of bad.lines) expect(JSON.stringify(l)).not.toContain('hunter2');
    expect(await metricValue(bad.metrics, 'streetwatch_camera_reconnects_total', { camera: 'cam-bad', reason: 'exit' })).toBeGreaterThanOrEqual(3);
    await waitFor(() => good.frames.length >= 5, 20_000, 'good camera frames');
    expect(good.runner.status().state).toBe('up');
    expect(good.runner.status().reconnects).toBe(0);
  });

  it('server killed → camera down within 10 s; server back → frames resume within 30 s', async () => {
    const h = rtspCamera('cam-flap', server.url('/cam'), { reconnect: { initialSec: 1, maxSec: 4, factor: 2, jitter: 0.3 } });
    await h.runner.start();
    await waitFor(() => h.runner.status().state === 'up', 20_000, 'camera up');
    const killedAt = Date.now();
    await server.kill();
    await waitFor(() => h.runner.status().state === 'down', 10_000, 'camera down after the server died');
    const downAfter = Date.now() - killedAt;
    expect(downAfter).toBeLessThan(10_000);
    expect(await metricValue(h.metrics, 'streetwatch_camera_up', { camera: 'cam-flap' })).toBe(0);
    await sleep(3000); // stays down while the server is away
    const framesWhileDown = h.frames.length;
    await server.restart();
    const back = Date.now();
    await waitFor(() => h.frames.length > framesWhileDown && h.runner.status().state === 'up', 30_000, 'frames after the server came back');
    expect(Date.now() - back).toBeLessThan(30_000);
    expect(h.runner.status().reconnects).toBeGreaterThanOrEqual(1);
  });

  it('a stream that stops sending (server frozen) is caught by the watchdog within 10 s', async () => {
    // A long socket timeout (a flaky link's setting) means ffmpeg itself would wait 30 s or more on a hung
    // camera; the watchdog is the safety net that does not wait for it.
    const h = rtspCamera('cam-stall', server.url('/cam'), {
      watchdogSec: 4,
      source: { kind: 'rtsp', url: server.url('/cam'), transport: 'tcp', timeoutSec: 30 },
    });
    await h.runner.start();
    await waitFor(() => h.runner.status().state === 'up', 20_000, 'camera up');
    const frozenAt = Date.now();
    await server.freeze();
    try {
      await waitFor(() => h.lines.some((l) => l.msg === 'no frame within the watchdog time: restarting the decoder'), 10_000, 'the watchdog');
      expect(Date.now() - frozenAt).toBeLessThan(10_000);
      expect(h.runner.status().state).not.toBe('up');
      await waitFor(async () => (await metricValue(h.metrics, 'streetwatch_camera_reconnects_total', { camera: 'cam-stall', reason: 'stall' })) >= 1, 10_000, 'a stall restart counted');
    } finally {
      await server.thaw();
    }
    const n = h.frames.length;
    await waitFor(() => h.frames.length > n, 30_000, 'frames after the stall');
  });

  it('segment ring: playable ~2 s segments, old ones deleted, no ffmpeg left after stop', async () => {
    const h = rtspCamera('cam-ring', server.url('/cam'), { ring: { enabled: true, segmentSec: 2, keepMinutes: 0.1, idleKeepSec: 6 } });
    await h.runner.start();
    const dir = join(h.dataDir, 'ring', 'cam-ring');
    await waitFor(async () => (await metricValue(h.metrics, 'streetwatch_ring_segments_deleted_total', { camera: 'cam-ring' })) >= 2, 40_000, 'old segments deleted');
    const segs = readdirSync(dir).sort();
    // a 6 s window of 2 s segments, plus the one being written and one awaiting the next prune
    expect(segs.length).toBeGreaterThanOrEqual(2);
    expect(segs.length).toBeLessThanOrEqual(6);
    const complete = segs.slice(0, -1);
    for (const s of complete) {
      const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=codec_name,width,height,nb_read_packets', '-of', 'json', join(dir, s)], { encoding: 'utf8' });
      const stream = JSON.parse(out).streams[0];
      expect(stream.codec_name).toBe('h264');
      expect(stream.width).toBe(640);
      // ~2 s at 25 fps
      expect(Number(stream.nb_read_packets)).toBeGreaterThanOrEqual(40);
      expect(Number(stream.nb_read_packets)).toBeLessThanOrEqual(60);
    }
    const pids = (await listProcesses('ffmpeg')).filter((p) => p.ppid === process.pid && p.cmd.includes(dir)).map((p) => p.pid);
    expect(pids.length).toBe(1);
    await h.runner.stop();
    const left = (await listProcesses('')).filter((p) => pids.includes(p.pid));
    expect(left).toEqual([]);
  });
});
