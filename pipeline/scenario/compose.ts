import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { StreetwatchError } from '../../core/errors.js';

const run = promisify(execFile);

/**
 * Composes a test scene with known ground truth: a real background video, played back and forth (ping-pong,
 * so there is no jump at the loop point) to the wanted length, with real object crops from photos pasted at
 * given places between given times, while the real pedestrians keep walking. Output: H.264 MP4 with a fixed
 * GOP and no B-frames, like a camera stream. The scenario builder (`streetwatch scenario build`) is built on this.
 */
export interface SceneObject {
  image: string;
  /** x, y, w, h in image pixels; default the whole image. */
  crop?: [number, number, number, number];
  /** Where the object's bottom-centre goes, normalised. */
  at: [number, number];
  /** Its width in the frame, normalised. */
  width: number;
  /** Seconds. */
  appear: number;
  leave: number;
}

export interface SceneSpec {
  background: string;
  duration: number;
  objects: SceneObject[];
  out: string;
  size?: { width: number; height: number };
  fps?: number;
  gop?: number;
}

/** Where each object ended up in the output, in pixels and normalised. */
export interface PlacedObject {
  rect: { x: number; y: number; w: number; h: number };
  box: [number, number, number, number];
}

export async function composeScene(spec: SceneSpec): Promise<PlacedObject[]> {
  const W = spec.size?.width ?? 640;
  const H = spec.size?.height ?? 360;
  const fps = spec.fps ?? 25;
  const gop = spec.gop ?? 2 * fps;
  const placed: PlacedObject[] = [];
  const inputs: string[] = ['-i', spec.background];
  const filters: string[] = [
    // ping-pong: the clip, then the clip reversed, looped; scaled first so `reverse` buffers small frames
    `[0:v]scale=${W}:${H},fps=${fps},setpts=PTS-STARTPTS,split[fw][bw0];[bw0]reverse[bw];[fw][bw]concat=n=2:v=1:a=0,loop=loop=-1:size=32767:start=0,trim=duration=${spec.duration},setpts=N/${fps}/TB[bg0]`,
  ];
  let last = 'bg0';
  for (const [k, o] of spec.objects.entries()) {
    const meta = await sharp(o.image).metadata().catch((e) => {
      throw new StreetwatchError('IMAGE_INVALID', `scene object ${k}: cannot read ${o.image}: ${(e as Error).message}`);
    });
    const [cx, cy, cw, ch] = o.crop ?? [0, 0, meta.width!, meta.height!];
    if (cx < 0 || cy < 0 || cw <= 0 || ch <= 0 || cx + cw > meta.width! || cy + ch > meta.height!) {
      throw new StreetwatchError('IMAGE_INVALID', `scene object ${k}: crop [${o.crop}] is outside ${o.image} (${meta.width}×${meta.height})`);
    }
    const w = Math.max(2, Math.round(o.width * W) & ~1);
    const h = Math.max(2, Math.round((ch * w) / cw) & ~1);
    const x = Math.round(o.at[0] * W - w / 2);
    const y = Math.round(o.at[1] * H - h);
    placed.push({ rect: { x, y, w, h }, box: [Math.max(0, x / W), Math.max(0, y / H), Math.min(1, (x + w) / W), Math.min(1, (y + h) / H)] });
    inputs.push('-loop', '1', '-i', o.image);
    filters.push(`[${k + 1}:v]crop=${cw}:${ch}:${cx}:${cy},scale=${w}:${h},format=yuva420p[o${k}]`);
    filters.push(`[${last}][o${k}]overlay=x=${x}:y=${y}:shortest=0:eof_action=pass:enable='between(t,${o.appear},${o.leave})'[v${k}]`);
    last = `v${k}`;
  }
  try {
    await run(
      'ffmpeg',
      ['-nostdin', '-y', '-loglevel', 'error', ...inputs, '-filter_complex', filters.join(';'), '-map', `[${last}]`, '-t', String(spec.duration),
        '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-bf', '0', '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
        '-movflags', '+faststart', spec.out],
      { maxBuffer: 16 << 20 },
    );
  } catch (e) {
    throw new StreetwatchError('DECODER_FAILED', `composing the scene ${spec.out} failed: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`, { cause: e });
  }
  return placed;
}
