import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveAsset } from '../../core/assets.js';
import type { FramePosition } from '../../core/types.js';
import { testCamera } from '../helpers/factories.js';
import { metricValue, runCamera, type Harness } from '../helpers/pipeline.js';
import { straightRoute, writeJsonlFile, writeNmeaFile } from '../helpers/fixtures/telemetry.js';
import { waitFor } from '../helpers/wait.js';

// A recorded patrol-vehicle video (the real Oxford street clip, 3.84 s) with a GPS sidecar, decoded by real
// ffmpeg at 5 fps: every frame must carry the position interpolated at its time, or an explicit no_fix.
const video = resolveAsset('oxford_towncentre_pedestrians.mp4');
const from = { lat: 31.2304, lon: 121.4737 };
const to = { lat: 31.2314, lon: 121.4757 };
const t0 = Date.UTC(2026, 10, 26, 2, 0, 0);

let h: Harness | undefined;
afterEach(async () => {
  await h?.runner.stop();
  h = undefined;
});

function expected(wallMs: number): { lat: number; lon: number } {
  const k = (wallMs - t0) / 2000; // the route takes 2 s
  return { lat: from.lat + (to.lat - from.lat) * k, lon: from.lon + (to.lon - from.lon) * k };
}

async function decodeWith(telemetryPath: string, videoStartTime?: string): Promise<Harness> {
  h = runCamera(
    testCamera({
      id: 'patrol-1',
      source: {
        kind: 'vehicle',
        video: { kind: 'file', path: video, loop: false, realtime: false },
        telemetry: { format: 'auto', path: telemetryPath, maxGapSec: 1, ...(videoStartTime ? { videoStartTime } : {}) },
      },
      sampling: { mode: 'fps', fps: 5 },
    }),
  );
  await h.runner.start();
  await waitFor(() => h!.runner.status().state === 'ended' || h!.runner.status().state === 'failed', 30_000, 'the vehicle video to end');
  expect(h.runner.status().state).toBe('ended');
  return h;
}

function checkPositions(frames: Harness['frames']): { fix: number; noFix: number } {
  let fix = 0;
  let noFix = 0;
  for (const f of frames) {
    const p = f.position as FramePosition;
    expect(p, `frame ${f.seq} has a position field`).toBeDefined();
    const offset = f.wallMs - t0;
    if (offset >= 0 && offset <= 3000) {
      // inside the fixes' range (0–2 s) or within maxGap (1 s) past its end
      expect(p.status, `frame at +${offset} ms`).toBe('fix');
      if (p.status === 'fix' && offset <= 2000) {
        const want = expected(f.wallMs);
        expect(p.lat).toBeCloseTo(want.lat, 5);
        expect(p.lon).toBeCloseTo(want.lon, 5);
      }
      fix++;
    } else {
      expect(p.status, `frame at +${offset} ms`).toBe('no_fix');
      noFix++;
    }
  }
  return { fix, noFix };
}

describe('vehicle source: frames tagged with interpolated GPS positions', () => {
  it('from an NMEA 0183 sidecar (RMC+GGA), video starting at the first fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sw-veh-'));
    const path = join(dir, 'gps.nmea');
    await writeNmeaFile(path, straightRoute(t0, 2, 1, from, to));
    const res = await decodeWith(path);
    expect(res.frames.length).toBeGreaterThanOrEqual(18);
    expect(res.frames[0]!.wallMs).toBe(t0);
    const { fix, noFix } = checkPositions(res.frames);
    expect(fix).toBe(16); // pts 0.0 … 3.0 at 5 fps
    expect(noFix).toBe(res.frames.length - 16);
    expect(await metricValue(res.metrics, 'streetwatch_frames_without_gps_fix_total', { camera: 'patrol-1' })).toBe(noFix);
  });

  it('from a JSON-lines sidecar, with an explicit video start time before the first fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sw-veh-'));
    const path = join(dir, 'gps.jsonl');
    await writeJsonlFile(path, straightRoute(t0, 2, 1, from, to), { ts: 'iso' });
    // video starts 1.5 s before the first fix: frames in its first 0.5 s are more than maxGap (1 s) away
    const res = await decodeWith(path, new Date(t0 - 1500).toISOString());
    expect(res.frames[0]!.wallMs).toBe(t0 - 1500);
    const early = res.frames.filter((f) => f.wallMs < t0 - 1000);
    expect(early.length).toBeGreaterThan(0);
    for (const f of early) expect(f.position?.status).toBe('no_fix');
    const inside = res.frames.filter((f) => f.wallMs >= t0 && f.wallMs <= t0 + 2000);
    expect(inside.length).toBeGreaterThanOrEqual(10);
    checkPositions(res.frames.filter((f) => f.wallMs >= t0));
  });
});
