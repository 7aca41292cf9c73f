import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { coverage, iou } from '../../core/box.js';
import { resolveAsset } from '../../core/assets.js';
import { createLogger } from '../../core/log.js';
import type { Frame } from '../../core/types.js';
import type { Box, Detection } from '../../detectors/contract.js';
import staticObject from '../../detectors/static-change/index.js';
import { composeScene, type SceneObject } from '../../pipeline/scenario/compose.js';
import { testCamera } from '../helpers/factories.js';
import { runCamera } from '../helpers/pipeline.js';
import { waitFor } from '../helpers/wait.js';

// The real Oxford street (ping-pong looped, its real pedestrians walking) with a real crop of the stacked
// crates and the cardboard box of oranges from the Perth market photo pasted on the right-hand pavement;
// decoded by the real camera runner at 2 fps, 640×360, and fed in order to the detector with its defaults.
const dir = mkdtempSync(join(tmpdir(), 'sw-static-'));
const MIN_STATIC = staticObject.manifest.options.parse({}).minStaticSec as number;
const crates = (appear: number, leave: number): SceneObject => ({
  image: resolveAsset('perth_fruit_market_stall.jpg'),
  crop: [92, 560, 200, 160],
  at: [0.75, 0.85],
  width: 0.12,
  appear,
  leave,
});

/** Share of box `a` inside `b` grown by `pad` (one working pixel: the detector sees 160 columns). */
const inside = (a: Box, b: Box, pad = 1 / 160): number => coverage(a, [b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad]);

async function scene(name: string, duration: number, objects: SceneObject[]): Promise<{ frames: Frame[]; truth: Box[] }> {
  const video = join(dir, `${name}.mp4`);
  const placed = await composeScene({ background: resolveAsset('oxford_towncentre_pedestrians.mp4'), duration, out: video, objects });
  const h = runCamera(
    testCamera({ id: name, source: { kind: 'file', path: video, loop: false, realtime: false }, sampling: { mode: 'fps', fps: 2 }, frame: { width: 640, height: 360 } }),
  );
  await h.runner.start();
  await waitFor(() => ['ended', 'failed'].includes(h.runner.status().state), 120_000, 'the scene to be decoded');
  expect(h.runner.status().state).toBe('ended');
  expect(h.frames.length).toBe(duration * 2);
  return { frames: h.frames, truth: placed.map((p) => p.box) };
}

/** Every frame through the detector, in order, in batches of its maxBatch; each frame's video time and detections. */
async function detectAll(frames: Frame[]): Promise<{ t: number; d: Detection[]; videoMs: (wallMs: number) => number }[]> {
  const inst = await staticObject.create(staticObject.manifest.options.parse({}), { log: createLogger({ level: 'error' }), resolveAsset, threads: 1 });
  const out: { t: number; d: Detection[]; videoMs: (wallMs: number) => number }[] = [];
  try {
    for (let i = 0; i < frames.length; i += staticObject.manifest.maxBatch) {
      const batch = frames.slice(i, i + staticObject.manifest.maxBatch);
      const res = await inst.detect(batch, new AbortController().signal);
      batch.forEach((f, k) => out.push({ t: f.ptsSec, d: res[k]!, videoMs: (wallMs) => wallMs - (f.wallMs - f.ptsSec * 1000) }));
    }
  } finally {
    await inst.close();
  }
  return out;
}

/** No region anywhere but on the pasted object, in any frame: the walking crowd is never reported. */
function expectOnlyOn(results: { t: number; d: Detection[] }[], truth: Box) {
  for (const r of results) {
    for (const x of r.d) {
      expect(inside(x.box, truth), `region [${x.box.map((v) => v.toFixed(3))}] at ${r.t}s is off the object`).toBeGreaterThanOrEqual(0.75);
    }
  }
}

describe('static-object detector on a composed real scene', () => {
  it(`reports the pasted crates at their place within minStaticSec + 5 s of their arrival, with that arrival, and nothing from the walking crowd`, async () => {
    const appear = 5;
    const { frames, truth } = await scene('crates', 40, [crates(appear, 1000)]);
    const results = await detectAll(frames);
    const hits = results.filter((r) => r.d.some((x) => iou(x.box, truth[0]!) >= 0.3));
    expect(hits.length).toBeGreaterThan(0);
    // measured on this scene: 13 s (10 s of stillness after the short-term background took ~3 s to settle)
    const delay = hits[0]!.t - appear;
    expect(delay).toBeGreaterThanOrEqual(MIN_STATIC);
    expect(delay).toBeLessThanOrEqual(MIN_STATIC + 5);
    // nothing at all before the object had stood minStaticSec
    expect(results.filter((r) => r.t < appear + MIN_STATIC).flatMap((r) => r.d)).toEqual([]);
    // from then on it stays reported, in every frame, as one followed object with a well-established score
    for (const r of results.filter((r) => r.t > hits[0]!.t)) {
      const on = r.d.filter((x) => iou(x.box, truth[0]!) >= 0.3);
      expect(on.length, `crates at ${r.t}s`).toBe(1);
      expect(on[0]!.score).toBeGreaterThanOrEqual(0.5);
    }
    // its arrival, in video time, is when it was put down (give or take the settling), not when it was reported
    const main = hits.at(-1)!.d.find((x) => iou(x.box, truth[0]!) >= 0.3)!;
    const arrived = hits.at(-1)!.videoMs(main.sinceMs!) / 1000;
    expect(arrived).toBeGreaterThanOrEqual(appear);
    expect(arrived).toBeLessThanOrEqual(appear + 4);
    expectOnlyOn(results, truth[0]!);
  });

  it('stops reporting the crates within (maxCounterSec − minStaticSec) / 2 s of their removal', async () => {
    const leave = 25;
    const { frames, truth } = await scene('crates-removed', 40, [crates(5, leave)]);
    const results = await detectAll(frames);
    const seen = results.filter((r) => r.d.length > 0);
    expect(seen.some((r) => r.d.some((x) => iou(x.box, truth[0]!) >= 0.3))).toBe(true);
    // default maxCounterSec is minStaticSec + 6: gone within 3 s, plus the frame that shows it gone
    expect(seen.at(-1)!.t).toBeGreaterThanOrEqual(leave - 0.5);
    expect(seen.at(-1)!.t - leave).toBeLessThanOrEqual(3 + 0.5);
    expectOnlyOn(results, truth[0]!);
  });

  it('never reports crates that stay only 5 s (less than minStaticSec), nor anything else', async () => {
    const { frames } = await scene('crates-brief', 30, [crates(5, 10)]);
    const results = await detectAll(frames);
    expect(results.flatMap((r) => r.d)).toEqual([]);
  });
});
