import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { StreetwatchError } from '../../core/errors.js';

const run = promisify(execFile);

/**
 * # Scene composer
 *
 * Test scenes with known ground truth: a real background video played back and forth (ping-pong, so the loop
 * never jumps) to the wanted length, with real object crops from photos pasted at given places between given
 * times, while the real pedestrians keep walking (they pass behind a pasted object: it is an overlay). The
 * output is what a camera sends: H.264 in MP4, no B-frames, a fixed GOP. `streetwatch scenario build` is built
 * on this; the truth it writes comes from the rectangles returned here.
 *
 * Memory stays bounded whatever the background's length: the background is first normalised (size, frame
 * rate) into a temporary file, its reverse is made in chunks of `reverseChunkSec`, and the final pass reads
 * forward, reverse, forward, … through ffmpeg's concat demuxer — ffmpeg's `reverse` filter holds every frame
 * it reverses in memory, and `loop` holds the whole loop.
 */
export interface SceneObject {
  /** A photo (any format sharp and ffmpeg read: JPEG, PNG, …). */
  image: string;
  /** x, y, w, h in image pixels; default the whole image. */
  crop?: [number, number, number, number];
  /** Where the object's bottom-centre goes (its foot point), normalised to the output frame. */
  at: [number, number];
  /** Its width in the output frame, normalised; the height keeps the crop's aspect. */
  width: number;
  /** Seconds of output time: shown while appear ≤ t ≤ leave. */
  appear: number;
  leave: number;
  /** Moves it: the foot point goes in a straight line from `at` at `appear` to `to` at `leave`. */
  to?: [number, number];
  /** Shakes it each frame by a pseudo-random offset of up to this much of the frame width (deterministic). */
  jitter?: number;
  /** Output-time intervals [from, to] within appear..leave when it is not shown. */
  hidden?: [number, number][];
}

export interface SceneSpec {
  /** The background video (its audio is dropped). */
  background: string;
  /** Seconds of output. */
  duration: number;
  objects: SceneObject[];
  /** Output file (.mp4). */
  out: string;
  /** Output size; the background is scaled to fill it and centre-cropped if its aspect differs. Default 640×360. */
  size?: { width: number; height: number };
  /** Output frame rate. Default 25. */
  fps?: number;
  /** Keyframe interval in frames. Default 2 s worth. */
  gop?: number;
  /** Longest piece of the background reversed at once, seconds (bounds memory). Default 5. */
  reverseChunkSec?: number;
}

/** Where an object ended up in the output frame: the visible part, in pixels and normalised. */
export interface PlacedObject {
  rect: { x: number; y: number; w: number; h: number };
  /** Normalised [x1, y1, x2, y2] of `rect`: the truth box. */
  box: [number, number, number, number];
}

interface Planned extends PlacedObject {
  /** Unclipped placement of the scaled crop (overlay may start off-frame). */
  x: number;
  y: number;
  w: number;
  h: number;
  /** Movement from appear to leave, pixels. */
  dx: number;
  dy: number;
  /** Jitter amplitude, pixels. */
  amp: number;
  crop: [number, number, number, number];
}

const bad = (msg: string) => new StreetwatchError('CONFIG_INVALID', msg);

/** Checks the spec and works out every object's placement, before any ffmpeg runs. */
export async function planScene(spec: SceneSpec): Promise<Planned[]> {
  const W = spec.size?.width ?? 640;
  const H = spec.size?.height ?? 360;
  if (!(Number.isInteger(W) && Number.isInteger(H) && W >= 16 && H >= 16 && W % 2 === 0 && H % 2 === 0)) {
    throw bad(`scene size ${W}×${H}: width and height must be even integers ≥ 16 (H.264 4:2:0)`);
  }
  if (!(spec.duration > 0)) throw bad(`scene duration ${spec.duration}: must be positive seconds`);
  const fps = spec.fps ?? 25;
  if (!(fps > 0 && fps <= 120)) throw bad(`scene fps ${fps}: must be in (0, 120]`);
  const gop = spec.gop ?? Math.round(2 * fps);
  if (!(Number.isInteger(gop) && gop >= 1)) throw bad(`scene gop ${gop}: must be a whole number of frames ≥ 1`);
  const out: Planned[] = [];
  for (const [k, o] of spec.objects.entries()) {
    const what = `scene object ${k} (${o.image})`;
    if (!(o.leave > o.appear && o.appear >= 0)) throw bad(`${what}: appear ${o.appear} s and leave ${o.leave} s: need 0 ≤ appear < leave`);
    if (!(o.width > 0 && o.width <= 1)) throw bad(`${what}: width ${o.width}: must be in (0, 1] of the frame`);
    if (!o.at.every((v) => v >= 0 && v <= 1)) throw bad(`${what}: at [${o.at}]: must be normalised, 0..1`);
    if (o.to && !o.to.every((v) => v >= 0 && v <= 1)) throw bad(`${what}: to [${o.to}]: must be normalised, 0..1`);
    if (o.jitter !== undefined && !(o.jitter >= 0 && o.jitter <= 0.1)) throw bad(`${what}: jitter ${o.jitter}: must be in [0, 0.1] of the frame width`);
    for (const [a, b] of o.hidden ?? []) if (!(b > a && a >= o.appear && b <= o.leave)) throw bad(`${what}: hidden [${a}, ${b}]: must be an interval inside appear..leave`);
    let meta: { width?: number; height?: number };
    try {
      meta = await sharp(o.image).metadata();
    } catch (e) {
      throw new StreetwatchError('IMAGE_INVALID', `${what}: cannot read the image: ${(e as Error).message}`, { cause: e });
    }
    const iw = meta.width ?? 0;
    const ih = meta.height ?? 0;
    const crop = o.crop ?? [0, 0, iw, ih];
    const [cx, cy, cw, ch] = crop;
    if (!crop.every(Number.isInteger) || cx < 0 || cy < 0 || cw <= 0 || ch <= 0 || cx + cw > iw || cy + ch > ih) {
      throw new StreetwatchError('IMAGE_INVALID', `${what}: crop [${crop}] is not inside the ${iw}×${ih} image`);
    }
    // even sizes keep the 4:2:0 overlay from smearing a chroma column at the object's edge
    const w = Math.max(2, Math.round(o.width * W) & ~1);
    const h = Math.max(2, Math.round((ch * w) / cw) & ~1);
    const x = Math.round(o.at[0] * W - w / 2);
    const y = Math.round(o.at[1] * H - h);
    const x1 = Math.max(0, x);
    const y1 = Math.max(0, y);
    const x2 = Math.min(W, x + w);
    const y2 = Math.min(H, y + h);
    if (x2 <= x1 || y2 <= y1) throw bad(`${what}: placed at [${x}, ${y}] ${w}×${h} px, entirely outside the ${W}×${H} frame`);
    const dx = o.to ? Math.round(o.to[0] * W - w / 2) - x : 0;
    const dy = o.to ? Math.round(o.to[1] * H - h) - y : 0;
    const amp = Math.round((o.jitter ?? 0) * W);
    out.push({ x, y, w, h, dx, dy, amp, crop, rect: { x: x1, y: y1, w: x2 - x1, h: y2 - y1 }, box: [x1 / W, y1 / H, x2 / W, y2 / H] });
  }
  return out;
}

/**
 * The overlay's position and enable expressions. Movement is linear in output time; jitter is ffmpeg's seeded
 * `random`, so a scene rebuilds identically; hidden intervals are cut out of the enable window.
 */
export function overlayArgs(o: SceneObject, p: Pick<Planned, 'x' | 'y' | 'dx' | 'dy' | 'amp'>): string {
  const progress = `clip((t-${o.appear})/${o.leave - o.appear},0,1)`;
  const shake = (seed: number) => (p.amp > 0 ? `+round((random(${seed})*2-1)*${p.amp})` : '');
  const x = p.dx !== 0 ? `${p.x}+${p.dx}*${progress}` : String(p.x);
  const y = p.dy !== 0 ? `${p.y}+${p.dy}*${progress}` : String(p.y);
  const hidden = (o.hidden ?? []).map(([a, b]) => `*not(between(t,${a},${b}))`).join('');
  const moving = p.dx !== 0 || p.dy !== 0 || p.amp > 0;
  return `x='${x}${shake(0)}':y='${y}${shake(1)}':eof_action=pass:enable='between(t,${o.appear},${o.leave})${hidden}'${moving ? ':eval=frame' : ''}`;
}

async function ffmpeg(args: string[], what: string): Promise<void> {
  try {
    await run('ffmpeg', ['-nostdin', '-y', '-loglevel', 'error', ...args], { maxBuffer: 16 << 20 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new StreetwatchError('FFMPEG_MISSING', `'ffmpeg' was not found on PATH; install ffmpeg (apt-get install ffmpeg).`, { cause: e });
    throw new StreetwatchError('DECODER_FAILED', `${what} failed: ${(err.stderr || err.message).trim().slice(-2000)}`, { cause: e });
  }
}

/** Frames in a video stream, counted by decoding (the container's own count is not always there). */
async function countFrames(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file]);
  const n = Number.parseInt(stdout.trim(), 10);
  if (!Number.isFinite(n)) throw new StreetwatchError('DECODER_FAILED', `could not count the frames of ${file} (ffprobe said '${stdout.trim()}')`);
  return n;
}

async function checkBackground(file: string): Promise<void> {
  if (!existsSync(file)) throw new StreetwatchError('SOURCE_NOT_FOUND', `scene background ${file} does not exist`);
  let out: string;
  try {
    out = (await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_type', '-of', 'csv=p=0', file])).stdout.trim();
  } catch (e) {
    throw new StreetwatchError('SOURCE_CORRUPT', `scene background ${file} is not a readable video: ${((e as { stderr?: string }).stderr ?? '').trim()}`, { cause: e });
  }
  if (!out.includes('video')) throw new StreetwatchError('SOURCE_NO_VIDEO', `scene background ${file} has no video stream`);
}

/**
 * Writes the scene to `spec.out` and returns where each object is in the output frame (the visible part,
 * clipped to the frame), in the order of `spec.objects`.
 */
export async function composeScene(spec: SceneSpec): Promise<PlacedObject[]> {
  const plan = await planScene(spec);
  await checkBackground(spec.background);
  const W = spec.size?.width ?? 640;
  const H = spec.size?.height ?? 360;
  const fps = spec.fps ?? 25;
  const gop = spec.gop ?? Math.round(2 * fps);
  const chunk = Math.max(2, Math.round((spec.reverseChunkSec ?? 5) * fps));
  const work = await mkdtemp(join(tmpdir(), 'sw-compose-'));
  // Intermediates are near-lossless and keyframed every second, so the chunked reverse can seek quickly.
  const inter = ['-an', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '10', '-g', String(Math.max(1, Math.round(fps))), '-bf', '0', '-pix_fmt', 'yuv420p'];
  try {
    const fwd = join(work, 'fwd.mp4');
    await ffmpeg(
      ['-i', spec.background, '-vf', `fps=${fps},scale=${W}:${H}:force_original_aspect_ratio=increase,crop=${W}:${H},setsar=1,setpts=N/(${fps}*TB)`, ...inter, fwd],
      `normalising the background ${spec.background}`,
    );
    const n = await countFrames(fwd);
    if (n < 1) throw new StreetwatchError('SOURCE_NO_VIDEO', `scene background ${spec.background} decoded to no frames`);
    // One cycle is frames 0 … n−1 then n−2 … 1: the turning frames are not shown twice (no stutter).
    const parts: string[] = [fwd];
    for (let b = n - 1; b > 1; b -= chunk) {
      const a = Math.max(1, b - chunk);
      const rev = join(work, `rev-${a}.mp4`);
      // Seeking to half a frame before frame a makes ffmpeg drop everything earlier, so frame a comes first;
      // trim ends the input after the chunk, which is what lets `reverse` emit (it waits for its input's end).
      await ffmpeg(
        ['-ss', ((a - 0.5) / fps).toFixed(6), '-t', ((b - a + 0.5) / fps).toFixed(6), '-i', fwd, '-vf', `trim=end_frame=${b - a},reverse,setpts=N/(${fps}*TB)`, ...inter, rev],
        `reversing frames ${a}–${b - 1} of the background`,
      );
      parts.push(rev);
    }
    const cycleFrames = n > 2 ? 2 * n - 2 : n;
    const cycles = Math.ceil((spec.duration * fps) / cycleFrames) + 1;
    const list = join(work, 'cycle.txt');
    const entry = parts.map((p) => `file '${p.replace(/'/g, "'\\''")}'`).join('\n');
    await writeFile(list, Array.from({ length: cycles }, () => entry).join('\n') + '\n');

    const inputs = ['-f', 'concat', '-safe', '0', '-i', list];
    const filters = [`[0:v]setpts=N/(${fps}*TB)[bg]`];
    let last = 'bg';
    for (const [k, o] of spec.objects.entries()) {
      const p = plan[k]!;
      const [cx, cy, cw, ch] = p.crop;
      // The photo is decoded, cropped and scaled once, then the `loop` filter repeats that one small frame:
      // an image input looped with `-loop 1` would decode the whole photo again for every output frame
      // (minutes of CPU for a long scene). Timestamps are the same as with `-loop 1 -framerate fps`.
      inputs.push('-framerate', String(fps), '-i', o.image);
      filters.push(`[${k + 1}:v]crop=${cw}:${ch}:${cx}:${cy},scale=${p.w}:${p.h},format=yuva420p,loop=loop=-1:size=1:start=0,setpts=N/(${fps}*TB)[o${k}]`);
      filters.push(`[${last}][o${k}]overlay=${overlayArgs(o, p)}[v${k}]`);
      last = `v${k}`;
    }
    await ffmpeg(
      [
        ...inputs,
        '-filter_complex', filters.join(';'),
        '-map', `[${last}]`,
        '-frames:v', String(Math.round(spec.duration * fps)),
        '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p',
        '-bf', '0', '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
        '-r', String(fps), '-movflags', '+faststart',
        spec.out,
      ],
      `composing the scene ${spec.out}`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return plan.map(({ rect, box }) => ({ rect, box }));
}
