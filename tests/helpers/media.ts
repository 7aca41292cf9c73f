import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { resolveAsset } from '../../core/assets.js';
import { TMP_DIR } from '../../core/paths.js';

const run = promisify(execFile);

async function ffmpeg(args: string[]): Promise<void> {
  await run('ffmpeg', ['-nostdin', '-y', '-loglevel', 'error', ...args], { maxBuffer: 16 << 20 });
}

export interface ClipOptions {
  seconds: number;
  width: number;
  height: number;
  fps?: number;
  gop?: number;
  name?: string;
}

/**
 * An H.264 MP4 made from the real Oxford street clip, looped to `seconds`, with a fixed GOP and no B-frames
 * (`-c copy` from RTSP into ring segments fails on B-frame timestamps). Made once and cached in tmp/clips/;
 * written to a temporary name and renamed, so test files running in parallel never see half a file.
 */
export async function ensureTestClip(opts: ClipOptions): Promise<string> {
  const fps = opts.fps ?? 25;
  const gop = opts.gop ?? 50;
  const name = opts.name ?? `oxford_${opts.width}x${opts.height}_${fps}fps_gop${gop}_${opts.seconds}s.mp4`;
  const dir = join(TMP_DIR, 'clips');
  const out = join(dir, name);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const tmp = `${out}.${process.pid}.${Date.now()}.tmp.mp4`;
  const src = resolveAsset('oxford_towncentre_pedestrians.mp4');
  const loops = Math.ceil(opts.seconds / 3.84);
  try {
    await ffmpeg([
      '-stream_loop', String(loops), '-i', src, '-t', String(opts.seconds), '-an',
      '-vf', `scale=${opts.width}:${opts.height},fps=${fps}`,
      '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-bf', '0',
      '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
      '-movflags', '+faststart', tmp,
    ]);
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
  }
  return out;
}

/** A truncated MP4 (moov atom at the end, cut off): what a half-copied recording looks like. */
export async function makeCorruptClip(src: string, out: string): Promise<string> {
  // Re-mux without faststart so the index (moov) is at the end, then cut the file before it.
  await ffmpeg(['-i', src, '-c', 'copy', '-movflags', '-faststart', out]);
  truncateSync(out, Math.floor(statSync(out).size * 0.3));
  return out;
}

/** A short video in FFV1 (lossless archive codec): decodable, but not a codec our evidence ring can copy. */
export async function makeUnsupportedCodecClip(out: string): Promise<string> {
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10', '-t', '2', '-c:v', 'ffv1', out]);
  return out;
}

/** An audio-only file (no video stream). */
export async function makeAudioOnlyFile(out: string): Promise<string> {
  await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'aac', out]);
  return out;
}
