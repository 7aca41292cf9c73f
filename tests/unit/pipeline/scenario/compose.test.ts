import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveAsset } from '../../../../core/assets.js';
import { composeScene, planScene, type SceneSpec } from '../../../../pipeline/scenario/compose.js';

// The composer with real ffmpeg on the real Oxford clip (3.84 s, 96 frames at 25 fps). Objects are a
// synthetic two-colour card, so where and when they show can be checked pixel by pixel.
const dir = mkdtempSync(join(tmpdir(), 'sw-compose-test-'));
const oxford = resolveAsset('oxford_towncentre_pedestrians.mp4');
const card = join(dir, 'card.png');

beforeAll(async () => {
  // 60×40: left half magenta, right half cyan; crops take the magenta half
  const px = Buffer.alloc(60 * 40 * 3);
  for (let i = 0; i < 60 * 40; i++) px.set(i % 60 < 30 ? [255, 0, 255] : [0, 255, 255], i * 3);
  await sharp(px, { raw: { width: 60, height: 40, channels: 3 } }).png().toFile(card);
});

function decode(file: string, w: number, h: number, fmt: 'rgb24' | 'gray'): Buffer[] {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', fmt, '-'], { maxBuffer: 1 << 29 });
  const fb = w * h * (fmt === 'rgb24' ? 3 : 1);
  return Array.from({ length: raw.length / fb }, (_, k) => raw.subarray(k * fb, (k + 1) * fb));
}

function probeFrames(file: string): { key: boolean; type: string }[] {
  const out = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame,pict_type', '-of', 'json', file]).toString());
  return out.frames.map((f: { key_frame: number; pict_type: string }) => ({ key: f.key_frame === 1, type: f.pict_type }));
}

function probeStream(file: string): Record<string, unknown> {
  return JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,has_b_frames,r_frame_rate', '-of', 'json', file]).toString()).streams[0];
}

/** Bounding box of the magenta pixels of an rgb24 frame, or null. */
function magenta(f: Buffer, w: number, h: number): { x1: number; y1: number; x2: number; y2: number; n: number } | null {
  let x1 = w, y1 = h, x2 = -1, y2 = -1, n = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      if (f[o]! > 190 && f[o + 1]! < 80 && f[o + 2]! > 190) {
        n++;
        x1 = Math.min(x1, x);
        y1 = Math.min(y1, y);
        x2 = Math.max(x2, x);
        y2 = Math.max(y2, y);
      }
    }
  }
  return n ? { x1, y1, x2: x2 + 1, y2: y2 + 1, n } : null;
}

const meanDiff = (a: Buffer, b: Buffer) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
};

describe('composeScene', () => {
  it('pastes each object at its place between its times, returns where it is, and writes a camera-like H.264 stream', async () => {
    const out = join(dir, 'scene.mp4');
    const W = 160, H = 90, fps = 10;
    const spec: SceneSpec = {
      background: oxford,
      duration: 6,
      out,
      size: { width: W, height: H },
      fps,
      gop: 10,
      objects: [
        { image: card, crop: [0, 0, 30, 40], at: [0.5, 0.8], width: 0.25, appear: 2, leave: 4 },
        // half off the left edge: the returned rectangle is the visible part
        { image: card, crop: [0, 0, 30, 40], at: [0.02, 0.7], width: 0.25, appear: 1, leave: 5 },
      ],
    };
    const placed = await composeScene(spec);
    // 0.25 × 160 = 40 px wide, 40 × 40/30 ≈ 52 px high (even), bottom-centre at (80, 72)
    expect(placed[0]).toEqual({ rect: { x: 60, y: 20, w: 40, h: 52 }, box: [60 / W, 20 / H, 100 / W, 72 / H] });
    // placed at x = 3 − 20 = −17: 23 of its 40 columns are in the frame
    expect(placed[1]!.rect).toEqual({ x: 0, y: 11, w: 23, h: 52 });

    expect(probeStream(out)).toMatchObject({ codec_name: 'h264', width: W, height: H, has_b_frames: 0, r_frame_rate: '10/1' });
    const types = probeFrames(out);
    expect(types.length).toBe(60);
    expect(types.some((t) => t.type === 'B')).toBe(false);
    expect(types.flatMap((t, i) => (t.key ? [i] : []))).toEqual([0, 10, 20, 30, 40, 50]);

    const frames = decode(out, W, H, 'rgb24');
    expect(frames.length).toBe(60);
    for (const [k, f] of frames.entries()) {
      const t = k / fps;
      const m = magenta(f, W, H);
      const inA = t >= 2 && t <= 4;
      const inB = t >= 1 && t <= 5;
      if (!inA && !inB) {
        expect(m, `nothing pasted at ${t}s`).toBeNull();
        continue;
      }
      expect(m, `something pasted at ${t}s`).not.toBeNull();
      // each visible object's pixels fill its returned rectangle (±1 px of chroma blur at the edges)
      const want = [inA ? placed[0]!.rect : null, inB ? placed[1]!.rect : null].filter((r) => r !== null);
      const x1 = Math.min(...want.map((r) => r.x));
      const y1 = Math.min(...want.map((r) => r.y));
      const x2 = Math.max(...want.map((r) => r.x + r.w));
      const y2 = Math.max(...want.map((r) => r.y + r.h));
      expect(Math.abs(m!.x1 - x1), `x1 at ${t}s`).toBeLessThanOrEqual(1);
      expect(Math.abs(m!.y1 - y1), `y1 at ${t}s`).toBeLessThanOrEqual(1);
      expect(Math.abs(m!.x2 - x2), `x2 at ${t}s`).toBeLessThanOrEqual(1);
      expect(Math.abs(m!.y2 - y2), `y2 at ${t}s`).toBeLessThanOrEqual(1);
      const area = want.reduce((s, r) => s + r.w * r.h, 0);
      expect(m!.n / area).toBeGreaterThan(0.85);
    }
  });

  it('plays the background back and forth: no jump at the turns, frame for frame, whatever the reverse chunk size', async () => {
    // 320×180: at 160×90 two neighbouring frames of the clip's end differ less than the compression noise
    const W = 320, H = 180;
    for (const reverseChunkSec of [5, 0.4]) {
      const out = join(dir, `pingpong-${reverseChunkSec}.mp4`);
      await composeScene({ background: oxford, duration: 9, objects: [], out, size: { width: W, height: H }, fps: 25, gop: 25, reverseChunkSec });
      const f = decode(out, W, H, 'gray');
      expect(f.length).toBe(225);
      const steps = f.slice(1).map((x, k) => meanDiff(x, f[k]!));
      const typical = [...steps].sort((a, b) => a - b)[steps.length >> 1]!;
      // a plain loop would jump from the last frame to the first: far more than any step of the walk
      const jump = meanDiff(f[95]!, f[0]!);
      expect(jump).toBeGreaterThan(4 * typical);
      // at the turns (95 → 96 → 97, 189 → 190 → 191) it moves by an ordinary step, and never pauses
      for (const k of [95, 96, 189, 190]) {
        expect(steps[k]!, `step ${k}→${k + 1}`).toBeLessThan(2.5 * typical);
        expect(steps[k]!, `step ${k}→${k + 1}`).toBeGreaterThan(0.25 * typical);
      }
      // backwards it shows exactly the forward frames, in reverse (96+j is 94−j), across every chunk boundary
      for (const j of [0, 1, 8, 9, 10, 11, 30, 55, 84, 93]) {
        const candidates = f.slice(0, 96).map((x, i) => ({ i, d: meanDiff(f[96 + j]!, x) }));
        const best = candidates.sort((a, b) => a.d - b.d)[0]!;
        expect(best.i, `frame ${96 + j}`).toBe(94 - j);
      }
      // and the next cycle starts where the first did
      const again = f.slice(0, 96).map((x, i) => ({ i, d: meanDiff(f[190]!, x) })).sort((a, b) => a.d - b.d)[0]!;
      expect(again.i).toBe(0);
    }
  });

  it('moves an object from at to to, shakes one by its jitter, and hides one during its hidden intervals', async () => {
    const W = 160, H = 90, fps = 10;
    const out = join(dir, 'motion.mp4');
    const crop: [number, number, number, number] = [0, 0, 30, 40];
    // one object at a time, so each frame's magenta box is that object's
    const placed = await composeScene({
      background: oxford, duration: 6, out, size: { width: W, height: H }, fps, gop: 10,
      objects: [
        { image: card, crop, at: [0.2, 0.7], to: [0.8, 0.9], width: 0.15, appear: 0, leave: 2 },
        { image: card, crop, at: [0.5, 0.8], width: 0.15, appear: 2.05, leave: 4, jitter: 0.05 },
        { image: card, crop, at: [0.5, 0.8], width: 0.15, appear: 4.05, leave: 6, hidden: [[4.5, 5.0]] },
      ],
    });
    const frames = decode(out, W, H, 'rgb24');
    const boxes = frames.map((f) => magenta(f, W, H));
    // moving: the foot point goes linearly from (32, 63) at 0 s to (128, 81) at 2 s
    for (const k of [0, 5, 10, 15]) {
      const p = k / fps / 2;
      const m = boxes[k]!;
      expect(Math.abs((m.x1 + m.x2) / 2 - (32 + 96 * p)), `x at frame ${k}`).toBeLessThanOrEqual(1.5);
      expect(Math.abs(m.y2 - Math.min(H, 63 + 18 * p)), `y at frame ${k}`).toBeLessThanOrEqual(1.5);
    }
    // jitter: within ±8 px (0.05 × 160) of its place, and not the same place every frame
    const home = placed[1]!.rect;
    const jittered = boxes.slice(21, 40).map((m) => [m!.x1 - home.x, m!.y1 - home.y]);
    for (const [dx, dy] of jittered) expect(Math.max(Math.abs(dx!), Math.abs(dy!))).toBeLessThanOrEqual(9);
    expect(new Set(jittered.map((d) => d.join())).size).toBeGreaterThan(5);
    // hidden from 4.5 s to 5 s, shown around it
    for (const k of [42, 44, 51, 55]) expect(boxes[k], `shown at frame ${k}`).not.toBeNull();
    for (const k of [46, 48, 49]) expect(boxes[k], `hidden at frame ${k}`).toBeNull();
  });

  it('refuses a bad spec before running ffmpeg, naming the object and the problem', async () => {
    const base: SceneSpec = { background: oxford, duration: 5, out: join(dir, 'never.mp4'), objects: [] };
    const obj = { image: card, at: [0.5, 0.5] as [number, number], width: 0.2, appear: 1, leave: 3 };
    const cases: [Partial<SceneSpec>, string, RegExp][] = [
      [{ objects: [{ ...obj, leave: 1 }] }, 'CONFIG_INVALID', /object 0.*appear 1 s and leave 1 s/],
      [{ objects: [obj, { ...obj, width: 1.5 }] }, 'CONFIG_INVALID', /object 1.*width 1.5/],
      [{ objects: [{ ...obj, at: [1.2, 0.5] }] }, 'CONFIG_INVALID', /at \[1.2,0.5\]/],
      [{ objects: [{ ...obj, at: [0, 0], width: 0.01 }] }, 'CONFIG_INVALID', /entirely outside/],
      [{ objects: [{ ...obj, crop: [40, 0, 30, 40] }] }, 'IMAGE_INVALID', /crop \[40,0,30,40\] is not inside the 60×40 image/],
      [{ objects: [{ ...obj, image: join(dir, 'missing.png') }] }, 'IMAGE_INVALID', /missing\.png/],
      [{ size: { width: 161, height: 90 } }, 'CONFIG_INVALID', /161×90/],
      [{ duration: 0 }, 'CONFIG_INVALID', /duration/],
      [{ gop: 0 }, 'CONFIG_INVALID', /gop/],
      [{ objects: [{ ...obj, to: [0.5, 1.5] }] }, 'CONFIG_INVALID', /to \[0.5,1.5\]/],
      [{ objects: [{ ...obj, jitter: 0.5 }] }, 'CONFIG_INVALID', /jitter 0.5/],
      [{ objects: [{ ...obj, hidden: [[0.5, 2]] }] }, 'CONFIG_INVALID', /hidden \[0.5, 2\]/],
    ];
    for (const [over, code, msg] of cases) {
      await expect(planScene({ ...base, ...over }), JSON.stringify(over)).rejects.toMatchObject({ code, message: expect.stringMatching(msg) });
    }
  });

  it('says which background is missing or not a video', async () => {
    const out = join(dir, 'never.mp4');
    await expect(composeScene({ background: join(dir, 'nope.mp4'), duration: 2, out, objects: [] })).rejects.toMatchObject({ code: 'SOURCE_NOT_FOUND', message: expect.stringContaining('nope.mp4') });
    const text = join(dir, 'text.mp4');
    writeFileSync(text, 'not a video\n');
    await expect(composeScene({ background: text, duration: 2, out, objects: [] })).rejects.toMatchObject({ code: 'SOURCE_CORRUPT', message: expect.stringContaining('text.mp4') });
  });
});
