import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveAsset } from '../../core/assets.js';
import { createLogger } from '../../core/log.js';
import type { Frame } from '../../core/types.js';
import type { Box } from '../../detectors/contract.js';
import staticObject from '../../detectors/static-change/index.js';
import { composeScene } from '../../pipeline/scenario/compose.js';
import { runCamera, testCamera } from '../helpers/pipeline.js';
import { waitFor } from '../helpers/processes.js';

// The real Oxford street (ping-pong looped, real pedestrians walking) with a real crop of the cardboard boxes
// and crates from the Perth market photo pasted on the pavement; decoded by the real camera runner.
const dir = mkdtempSync(join(tmpdir(), 'sw-static-'));
const crates = { image: resolveAsset('perth_fruit_market_stall.jpg'), crop: [0, 520, 300, 200] as [number, number, number, number] };

function iou(a: Box, b: Box): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

async function decode(video: string): Promise<Frame[]> {
  const h = runCamera(testCamera({ id: 'scene', source: { kind: 'file', path: video, loop: false, realtime: false }, sampling: { mode: 'fps', fps: 2 }, frame: { width: 640, height: 360 } }));
  await h.runner.start();
  await waitFor(() => ['ended', 'failed'].includes(h.runner.status().state), 60_000, 'the scene to be decoded');
  expect(h.runner.status().state).toBe('ended');
  return h.frames;
}

async function detectAll(frames: Frame[]) {
  const inst = await staticObject.create(staticObject.manifest.options.parse({}), { log: createLogger({ level: 'error' }), resolveAsset, threads: 1 });
  const out: { t: number; boxes: Box[] }[] = [];
  for (const f of frames) {
    const [d] = await inst.detect([f], new AbortController().signal);
    out.push({ t: f.ptsSec, boxes: d!.map((x) => x.box) });
  }
  await inst.close();
  return out;
}

describe('static-object detector on a composed real scene', () => {
  it('reports the pasted crates at their place within minStaticSec + 6 s, and nothing from the walking crowd', async () => {
    const video = join(dir, 'crates.mp4');
    const [placed] = await composeScene({ background: resolveAsset('oxford_towncentre_pedestrians.mp4'), duration: 40, out: video, objects: [{ ...crates, at: [0.75, 0.85], width: 0.12, appear: 5, leave: 100 }] });
    const results = await detectAll(await decode(video));
    expect(results.length).toBe(80);
    const minStatic = 10;
    const hits = results.filter((r) => r.boxes.some((b) => iou(b, placed!.box) >= 0.3));
    expect(hits.length).toBeGreaterThan(0);
    const delay = hits[0]!.t - 5;
    expect(delay).toBeGreaterThanOrEqual(minStatic);
    expect(delay).toBeLessThanOrEqual(minStatic + 6);
    // from then on it stays reported
    expect(results.filter((r) => r.t >= hits[0]!.t + 2).every((r) => r.boxes.some((b) => iou(b, placed!.box) >= 0.3))).toBe(true);
    // every reported region, in every frame, is on the crates: none from walking people
    for (const r of results) for (const b of r.boxes) expect(iou(b, placed!.box), `region ${b} at ${r.t}s`).toBeGreaterThan(0);
  });

  it('never reports crates that stay only 5 s (less than minStaticSec)', async () => {
    const video = join(dir, 'brief.mp4');
    await composeScene({ background: resolveAsset('oxford_towncentre_pedestrians.mp4'), duration: 30, out: video, objects: [{ ...crates, at: [0.75, 0.85], width: 0.12, appear: 5, leave: 10 }] });
    const results = await detectAll(await decode(video));
    expect(results.flatMap((r) => r.boxes)).toEqual([]);
  });
});
