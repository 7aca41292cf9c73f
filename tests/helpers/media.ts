import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { resolveAsset } from '../../core/assets.js';
import { TMP_DIR } from '../../core/paths.js';

const run = promisify(execFile);

/** The real street clip every test clip is made from (H.264 1920×1080, 25 fps, 3.84 s, with audio). */
export const SOURCE_CLIP = 'oxford_towncentre_pedestrians.mp4';

async function ffmpeg(args: string[]): Promise<void> {
  await run('ffmpeg', ['-nostdin', '-y', '-loglevel', 'error', ...args], { maxBuffer: 16 << 20 });
}

/** Whether ffprobe can read a video stream from `file`. */
async function probesAsVideo(file: string): Promise<boolean> {
  try {
    const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', file]);
    return stdout.trim() !== '';
  } catch {
    return false;
  }
}

export interface ClipOptions {
  seconds: number;
  width: number;
  height: number;
  /** Default 25. */
  fps?: number;
  /** Frames per GOP, fixed (no scene-cut keyframes). Default 50. */
  gop?: number;
  /**
   * Video bitrate in bits/s, capped like a camera's CBR stream (`-b:v`, `-maxrate` the same, `-bufsize` twice
   * that). Default: x264's quality-based rate (CRF 23), whatever bitrate the picture needs.
   */
  bitrate?: number;
  /** File name in tmp/clips/; default derived from the other options. */
  name?: string;
}

// Two tests of the same file asking for the same clip share one encode.
const pending = new Map<string, Promise<string>>();

/**
 * An H.264 MP4 made from the real Oxford street clip, looped to `seconds`, scaled, with a fixed GOP and no B-frames
 * (`-c copy` from RTSP into ring segments fails on B-frame timestamps), no audio, moov first. Made once and cached
 * in tmp/clips/; written to a temporary name and renamed, so test files running in parallel never see half a file.
 */
export function ensureTestClip(opts: ClipOptions): Promise<string> {
  const fps = opts.fps ?? 25;
  const gop = opts.gop ?? 50;
  const rate = opts.bitrate ? `_${Math.round(opts.bitrate / 1000)}k` : '';
  const name = opts.name ?? `oxford_${opts.width}x${opts.height}_${fps}fps_gop${gop}${rate}_${opts.seconds}s.mp4`;
  const out = join(TMP_DIR, 'clips', name);
  if (existsSync(out)) return Promise.resolve(out);
  let p = pending.get(out);
  if (!p) {
    p = makeClip(out, opts.seconds, opts.width, opts.height, fps, gop, opts.bitrate).finally(() => pending.delete(out));
    pending.set(out, p);
  }
  return p;
}

async function makeClip(out: string, seconds: number, width: number, height: number, fps: number, gop: number, bitrate?: number): Promise<string> {
  mkdirSync(join(TMP_DIR, 'clips'), { recursive: true });
  const tmp = `${out}.${process.pid}.${Date.now()}.tmp.mp4`;
  const src = resolveAsset(SOURCE_CLIP);
  try {
    await ffmpeg([
      '-stream_loop', '-1', '-i', src, '-t', String(seconds), '-an',
      '-vf', `scale=${width}:${height},fps=${fps}`,
      '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-bf', '0',
      '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
      ...(bitrate ? ['-b:v', String(bitrate), '-maxrate', String(bitrate), '-bufsize', String(2 * bitrate)] : []),
      '-movflags', '+faststart', tmp,
    ]);
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
  }
  return out;
}

/**
 * A truncated MP4 whose index (moov atom) is missing: what a half-copied recording looks like. Throws if ffprobe
 * can still read it, so a test relying on it never passes for the wrong reason.
 */
export async function makeCorruptClip(src: string, out: string): Promise<string> {
  // Re-muxed without faststart the moov sits at the end; keeping the first 30 % of the bytes cuts it off.
  await ffmpeg(['-i', src, '-c', 'copy', '-movflags', '-faststart', '-f', 'mp4', out]);
  truncateSync(out, Math.floor(statSync(out).size * 0.3));
  if (await probesAsVideo(out)) throw new Error(`makeCorruptClip: ffprobe still reads ${out}; it is not corrupt enough`);
  return out;
}

/**
 * A short video in FFV1 (lossless archive codec, put in .mkv by the caller): decodable, but not a codec the pipeline
 * accepts (its evidence ring copies H.264/H.265 without re-encoding).
 */
export async function makeUnsupportedCodecClip(out: string): Promise<string> {
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10', '-t', '2', '-c:v', 'ffv1', out]);
  return out;
}

/** An audio-only file (AAC, no video stream). */
export async function makeAudioOnlyFile(out: string): Promise<string> {
  await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'aac', out]);
  return out;
}
