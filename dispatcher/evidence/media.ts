import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { StreetwatchError } from '../../core/errors.js';
import type { SegmentFile } from '../../pipeline/ring.js';
import { diskProblemInText } from './disk.js';

/**
 * The ffmpeg side of evidence: finding which ring segment holds a moment, cutting one full-resolution frame
 * from it, and joining or cutting video without re-encoding (`-c copy`: the clip is the camera's own bits).
 */

const exec = promisify(execFile);

async function tool(bin: 'ffmpeg' | 'ffprobe', args: string[], what: string): Promise<string> {
  try {
    const { stdout } = await exec(bin, args, { maxBuffer: 16 << 20 });
    return stdout;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new StreetwatchError('FFMPEG_MISSING', `${bin} is not installed or not on PATH; install ffmpeg (scripts/setup.sh does)`, { cause: e });
    const stderr = (err.stderr ?? err.message).trim();
    const tail = stderr.split('\n').slice(-3).join(' | ');
    // A full or read-only disk reaches ffmpeg as a failed write, which it prints (strerror) instead of exiting
    // with an errno: without this it reads like a broken video.
    const disk = diskProblemInText(stderr);
    if (disk === 'full') throw new StreetwatchError('EVIDENCE_DISK_FULL', `${what}: ${bin} could not write its output, the disk is full: ${tail}`, { cause: e, retriable: true });
    if (disk === 'read-only') throw new StreetwatchError('EVIDENCE_ROOT_NOT_WRITABLE', `${what}: ${bin} could not write its output, the filesystem is read-only: ${tail}`, { cause: e });
    throw new StreetwatchError('EVIDENCE_FAILED', `${what}: ${bin} failed: ${tail}`, { cause: e, retriable: true });
  }
}

const FFMPEG = ['-nostdin', '-y', '-hide_banner', '-loglevel', 'error'];

export async function probeDurationSec(file: string): Promise<number | undefined> {
  const out = await tool('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], `probing ${file}`);
  const d = Number(out.trim());
  return Number.isFinite(d) && d > 0 ? d : undefined;
}

/**
 * One frame at `offsetSec` into `input` (counted from the file's start time), at the stream's own
 * resolution, lossless PNG. Returns false when the file has no frame there (ffmpeg then writes nothing), so
 * the caller can record the moment as missing.
 */
export async function extractStill(input: string, offsetSec: number, out: string): Promise<boolean> {
  // A ring segment (MPEG-TS, ~2 s) has no index: ffmpeg's input seek lands past its only keyframe when the
  // camera's GOP is as long as the segment, and then decodes nothing. Decoding the short segment from its
  // start and seeking on the output is exact and cheap; an indexed file (MP4) keeps the fast input seek.
  const seek = input.endsWith('.ts') ? ['-i', input, '-ss', offsetSec.toFixed(3)] : ['-ss', offsetSec.toFixed(3), '-i', input];
  await tool('ffmpeg', [...FFMPEG, ...seek, '-map', '0:v:0', '-frames:v', '1', '-update', '1', '-c:v', 'png', out], `cutting a still from ${input} at ${offsetSec.toFixed(3)} s into ${out}`);
  return existsSync(out) && statSync(out).size > 0;
}

/** Joins whole segments, stream copy, into an MP4 (moov first so it plays while downloading). */
export async function concatCopy(segments: string[], out: string, listFile: string): Promise<void> {
  // The concat demuxer (not byte concatenation): ring segments restart their timestamps at 0 (-reset_timestamps).
  await writeFile(listFile, segments.map((s) => `file '${s.replace(/'/g, "'\\''")}'`).join('\n') + '\n');
  await tool('ffmpeg', [...FFMPEG, '-f', 'concat', '-safe', '0', '-i', listFile, '-map', '0:v:0', '-c', 'copy', '-movflags', '+faststart', out], `joining ${segments.length} ring segment(s) into ${out}`);
}

/** Cuts [fromSec, toSec] of a file, stream copy: starts at the keyframe at or before fromSec. */
export async function cutCopy(input: string, fromSec: number, toSec: number, out: string): Promise<void> {
  await tool('ffmpeg', [
    ...FFMPEG, '-ss', fromSec.toFixed(3), '-i', input, '-t', (toSec - fromSec).toFixed(3),
    '-map', '0:v:0', '-map', '0:a?', '-c', 'copy', '-avoid_negative_ts', 'make_zero', '-movflags', '+faststart', out,
  ], `cutting ${fromSec.toFixed(3)}–${toSec.toFixed(3)} s of ${input} into ${out}`);
}

export type Segment = SegmentFile;

// Segment names have whole seconds (ffmpeg's strftime), so a moment may fall up to 1 s past where the name says
// the segment ends.
const NAME_SLACK_SEC = 1;

export type Located = { ok: true; segment: Segment; offsetSec: number } | { ok: false; reason: string };

/** Which segment holds `wallMs` and how far into it; or why none does (aged out, a gap, not yet written). */
export async function locateInRing(segments: Segment[], wallMs: number): Promise<Located> {
  if (segments.length === 0) return { ok: false, reason: 'the ring has no segments' };
  let i = -1;
  for (let k = 0; k < segments.length; k++) if (segments[k]!.startMs <= wallMs) i = k;
  if (i < 0) return { ok: false, reason: `older than the ring's oldest segment ${segments[0]!.name} (aged out of the ring)` };
  const seg = segments[i]!;
  const offset = (wallMs - seg.startMs) / 1000;
  const dur = await probeDurationSec(seg.file).catch(() => undefined);
  if (dur === undefined) return { ok: false, reason: `ring segment ${seg.name} is unreadable (still being written, or damaged)` };
  if (offset > dur + NAME_SLACK_SEC) {
    const next = segments[i + 1];
    return { ok: false, reason: next ? `in a gap of the ring between ${seg.name} and ${next.name} (camera disconnected?)` : `after the end of the newest ring segment ${seg.name}` };
  }
  // The last frame sits one frame before the end; a little short of the duration is always decodable.
  return { ok: true, segment: seg, offsetSec: Math.max(0, Math.min(offset, dur - 0.1)) };
}

/**
 * Segments overlapping [fromMs, toMs]: a segment runs until the next one starts (a gap inside a segment's span
 * only costs a longer clip); the newest runs until `lastEndMs` (its start + probed duration).
 */
export function segmentsCovering(segments: Segment[], fromMs: number, toMs: number, lastEndMs = Infinity): Segment[] {
  return segments.filter((s, k) => s.startMs < toMs && (segments[k + 1]?.startMs ?? lastEndMs) > fromMs);
}

/** Where the newest segment ends (name + duration + the name's rounding), for segmentsCovering. */
export async function ringEndMs(segments: Segment[]): Promise<number> {
  const last = segments.at(-1);
  if (!last) return -Infinity;
  // ffmpeg has only just opened the newest segment (no header yet: ffprobe says "Invalid data"): it holds
  // nothing yet, so the ring ends at its start
  const dur = (await probeDurationSec(last.file).catch(() => undefined)) ?? 0;
  return last.startMs + (dur + NAME_SLACK_SEC) * 1000;
}
