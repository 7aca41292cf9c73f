import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { StreetwatchError, type ErrorCode } from '../core/errors.js';
import { redact } from '../core/redact.js';

/**
 * What a source looks like before we commit to a sampling mode: codec, size, frame rate, and the GOP measured
 * from packet flags (no decoding, so it is cheap even on 4K). Cameras often report a configured "I-frame
 * interval" that the encoder does not honour; only the packets tell the truth.
 */

export interface GopInfo {
  /** Mean distance between consecutive keyframes, in frames (packets). */
  frames: number;
  /** Mean distance between consecutive keyframes, in seconds. */
  seconds: number;
  /** Shortest and longest distance between consecutive keyframes, in frames. */
  min: number;
  max: number;
  /** Keyframes seen in the probed window. */
  sampledKeyframes: number;
}

export type SamplingRecommendation = { mode: 'keyframes' } | { mode: 'fps'; fps: number };

export interface ProbeResult {
  /** The input, credentials redacted. */
  input: string;
  codec: string;
  profile?: string;
  width: number;
  height: number;
  fps: number;
  /** bits per second */
  bitrate?: number;
  /** Files only; live streams have none. */
  durationSec?: number;
  gop: GopInfo | null;
  keyframeSampling: { suitable: boolean; reason: string; recommended: SamplingRecommendation };
}

export interface ProbeOptions {
  /** How much of the stream to read for the GOP measurement (stream time). Default 20: two 10 s GOPs. */
  seconds?: number;
  rtspTransport?: 'tcp' | 'udp';
  /** Network I/O timeout: a server that stops answering fails the probe after this. Default 10. */
  timeoutSec?: number;
  /** ffprobe binary; default `ffprobe` on PATH. */
  ffprobePath?: string;
}

/** Violations last minutes, so one look per GOP is plenty as long as GOPs are no longer than this. */
export const KEYFRAME_SAMPLING_MAX_GOP_SEC = 10;
/** What to sample instead when keyframes are too sparse: detector cost stays low, decode cost is unavoidable. */
export const FALLBACK_SAMPLING_FPS = 1;
export const DEFAULT_PROBE_SECONDS = 20;
export const DEFAULT_PROBE_TIMEOUT_SEC = 10;

const URL_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

export function isNetworkInput(input: string): boolean {
  const m = URL_SCHEME.exec(input);
  return !!m && m[1]!.toLowerCase() !== 'file';
}

function isRtsp(input: string): boolean {
  return /^rtsps?:\/\//i.test(input);
}

export async function probeSource(input: string, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const seconds = opts.seconds ?? DEFAULT_PROBE_SECONDS;
  const timeoutSec = opts.timeoutSec ?? DEFAULT_PROBE_TIMEOUT_SEC;
  if (!(seconds > 0)) throw new StreetwatchError('USAGE', `probe: seconds must be positive, got ${seconds}`);
  if (!(timeoutSec > 0)) throw new StreetwatchError('USAGE', `probe: timeoutSec must be positive, got ${timeoutSec}`);
  const shown = redact(input);
  const network = isNetworkInput(input);

  if (!network) {
    const path = input.replace(/^file:(\/\/)?/i, '');
    let isFile = false;
    try {
      isFile = statSync(path).isFile();
    } catch {
      throw new StreetwatchError('SOURCE_NOT_FOUND', `source ${shown} does not exist. Check the path (relative paths are from ${process.cwd()}).`, {
        details: { input: shown },
      });
    }
    if (!isFile) throw new StreetwatchError('SOURCE_CORRUPT', `source ${shown} is not a regular file (a folder?). Give the path of a video file.`, { details: { input: shown } });
  }

  const inputArgs = networkArgs(input, opts.rtspTransport ?? 'tcp', timeoutSec);
  const ffprobe = opts.ffprobePath ?? 'ffprobe';
  // The socket timeout should end a silent server; the hard kill is for an ffprobe that ignores it.
  const slackMs = (timeoutSec + 10) * 1000;

  const info = await runFfprobe(ffprobe, [...inputArgs, '-show_streams', '-show_format', '-of', 'json', input], slackMs, input, timeoutSec);
  const parsed = parseJson<FfprobeInfo>(info.stdout, shown);
  const streams = parsed.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!video) {
    const found = streams.length ? streams.map((s) => `${s.codec_type ?? '?'} ${s.codec_name ?? '?'}`).join(', ') : 'no streams at all';
    throw new StreetwatchError('SOURCE_NO_VIDEO', `source ${shown} has no video stream (found: ${found}). Point the camera at its video URL or use a video file.`, {
      details: { input: shown },
    });
  }

  // Live sources deliver `seconds` of packets in real time, so the hard limit grows with the window.
  const packetLimitMs = network ? slackMs + seconds * 1000 * 2 : slackMs + seconds * 1000;
  const pk = await runFfprobe(
    ffprobe,
    [...inputArgs, '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-read_intervals', `%+${seconds}`, '-of', 'json=c=1', input],
    packetLimitMs,
    input,
    timeoutSec,
  );
  const packets = parseJson<{ packets?: Array<{ pts_time?: string; flags?: string }> }>(pk.stdout, shown).packets ?? [];

  const fps = parseRate(video.avg_frame_rate) ?? parseRate(video.r_frame_rate) ?? fpsFromPackets(packets) ?? 0;
  const gop = measureGop(packets, fps);
  const durationSec = num(parsed.format?.duration) ?? num(video.duration);
  const bitrate = num(video.bit_rate) ?? num(parsed.format?.bit_rate);
  const result: ProbeResult = {
    input: shown,
    codec: video.codec_name ?? 'unknown',
    ...(video.profile ? { profile: video.profile } : {}),
    width: video.width ?? 0,
    height: video.height ?? 0,
    fps: round(fps, 3),
    ...(bitrate !== undefined ? { bitrate } : {}),
    ...(!network && durationSec !== undefined ? { durationSec } : {}),
    gop,
    keyframeSampling: judgeKeyframeSampling(gop, fps, seconds, network ? undefined : durationSec, maxGapSeconds(packets)),
  };
  return result;
}

function networkArgs(input: string, transport: 'tcp' | 'udp', timeoutSec: number): string[] {
  const us = String(Math.round(timeoutSec * 1e6));
  if (isRtsp(input)) return ['-rtsp_transport', transport, '-timeout', us];
  if (isNetworkInput(input)) return ['-rw_timeout', us];
  return [];
}

/** Mean/min/max keyframe distance over the complete GOPs inside the window; null with fewer than 2 keyframes. */
export function measureGop(packets: ReadonlyArray<{ pts_time?: string; flags?: string }>, fps: number): GopInfo | null {
  const keyIdx: number[] = [];
  packets.forEach((p, i) => {
    if (p.flags?.includes('K')) keyIdx.push(i);
  });
  if (keyIdx.length < 2) return null;
  const gaps = keyIdx.slice(1).map((k, i) => k - keyIdx[i]!);
  const frames = (keyIdx.at(-1)! - keyIdx[0]!) / gaps.length;
  const firstPts = num(packets[keyIdx[0]!]!.pts_time);
  const lastPts = num(packets[keyIdx.at(-1)!]!.pts_time);
  // Timestamps beat frames/fps on variable-frame-rate cameras; fall back when a muxer gives no pts.
  const seconds = firstPts !== undefined && lastPts !== undefined && lastPts > firstPts ? (lastPts - firstPts) / gaps.length : fps > 0 ? frames / fps : 0;
  return { frames: round(frames, 2), seconds: round(seconds, 3), min: Math.min(...gaps), max: Math.max(...gaps), sampledKeyframes: keyIdx.length };
}

function maxGapSeconds(packets: ReadonlyArray<{ pts_time?: string; flags?: string }>): number | undefined {
  const pts = packets.filter((p) => p.flags?.includes('K')).map((p) => num(p.pts_time));
  if (pts.length < 2 || pts.some((p) => p === undefined)) return undefined;
  let max = 0;
  for (let i = 1; i < pts.length; i++) max = Math.max(max, pts[i]! - pts[i - 1]!);
  return max;
}

/**
 * Keyframe sampling suits a source whose longest keyframe gap is ≤ 10 s, seen at least twice in the window.
 * Judged on the longest gap, not the mean: one 30 s gap is a 30 s blind spot whatever the average.
 */
export function judgeKeyframeSampling(
  gop: GopInfo | null,
  fps: number,
  windowSec: number,
  fileDurationSec?: number,
  longestGapSec?: number,
): ProbeResult['keyframeSampling'] {
  const fallbackFps = fps > 0 ? Math.min(FALLBACK_SAMPLING_FPS, round(fps, 3)) : FALLBACK_SAMPLING_FPS;
  const fallback: SamplingRecommendation = { mode: 'fps', fps: fallbackFps };
  const use = `use sampling: {mode: fps, fps: ${fallbackFps}} (decodes every frame, so it costs more CPU than keyframes)`;
  const seen = fileDurationSec !== undefined && fileDurationSec <= windowSec ? `the whole ${round(fileDurationSec, 2)} s file` : `the first ${windowSec} s`;
  if (!gop) {
    return {
      suitable: false,
      reason: `fewer than 2 keyframes in ${seen}, so the keyframe interval is unknown or longer than that; ${use}, or probe a longer window (--seconds)`,
      recommended: fallback,
    };
  }
  const longest = longestGapSec ?? (fps > 0 ? gop.max / fps : gop.seconds);
  if (longest > KEYFRAME_SAMPLING_MAX_GOP_SEC) {
    return {
      suitable: false,
      reason: `keyframes are up to ${round(longest, 2)} s apart (mean ${gop.seconds} s), more than ${KEYFRAME_SAMPLING_MAX_GOP_SEC} s: keyframe sampling would look too rarely; ${use}, or shorten the camera's I-frame interval`,
      recommended: fallback,
    };
  }
  return {
    suitable: true,
    reason: `a keyframe every ${gop.seconds} s (${gop.frames} frames, longest gap ${round(longest, 2)} s ≤ ${KEYFRAME_SAMPLING_MAX_GOP_SEC} s) over ${gop.sampledKeyframes} keyframes: one look per GOP is enough for violations that last minutes`,
    recommended: { mode: 'keyframes' },
  };
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  bit_rate?: string;
  duration?: string;
  disposition?: { attached_pic?: number };
}
interface FfprobeInfo {
  streams?: FfprobeStream[];
  format?: { duration?: string; bit_rate?: string };
}

interface RunResult {
  stdout: string;
  stderr: string;
}

function runFfprobe(bin: string, args: string[], hardTimeoutMs: number, input: string, timeoutSec: number): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      ['-v', 'error', '-hide_banner', ...args],
      { timeout: hardTimeoutMs, killSignal: 'SIGKILL', maxBuffer: 256 * 1024 * 1024, windowsHide: true },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string };
        if (e.code === 'ENOENT') {
          return reject(new StreetwatchError('FFMPEG_MISSING', `'${bin}' was not found on PATH. Install ffmpeg (apt-get install ffmpeg) or put ffprobe on PATH.`, { cause: err }));
        }
        if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
          return reject(new StreetwatchError('PROBE_FAILED', `ffprobe output for ${redact(input)} was too large; probe a shorter window (--seconds).`, { cause: err }));
        }
        const timedOut = e.killed === true && e.signal === 'SIGKILL';
        reject(classifyFailure(input, stderr, timedOut ? hardTimeoutMs / 1000 : undefined, Date.now() - started, timeoutSec, err));
      },
    );
  });
}

/** Maps ffprobe's stderr to a code a caller can act on. The text matched is ffmpeg 5.x's wording. */
export function classifyFailure(input: string, stderr: string, killedAfterSec: number | undefined, elapsedMs: number, timeoutSec: number, cause?: unknown): StreetwatchError {
  const shown = redact(input);
  const network = isNetworkInput(input);
  const said = lastLines(redact(stderr));
  const details = { input: shown, stderr: said };
  const err = (code: ErrorCode, msg: string, retriable = false) => new StreetwatchError(code, msg, { cause, retriable, details });
  const what = said ? ` (ffprobe: ${said})` : '';

  if (killedAfterSec !== undefined) {
    return network
      ? err('SOURCE_UNREACHABLE', `source ${shown} did not deliver within ${killedAfterSec} s and the probe was stopped. Check the camera is up and reachable, then try again.`, true)
      : err('PROBE_FAILED', `ffprobe did not finish on ${shown} within ${killedAfterSec} s and was stopped${what}. Try a shorter --seconds window.`);
  }
  if (/Server returned 40[13]|\b40[13] (?:Unauthorized|Forbidden)|authorization failed|access denied/i.test(stderr)) {
    return err('SOURCE_AUTH_FAILED', `source ${shown} refused the credentials${what}. Check the user name and password in the camera URL.`);
  }
  if (/Server returned 404|\b404 Not Found|No such file or directory/i.test(stderr)) {
    return network
      ? err('SOURCE_NOT_FOUND', `source ${shown}: the server has no stream at that path${what}. Check the path part of the URL (channel/stream name).`)
      : err('SOURCE_NOT_FOUND', `source ${shown} does not exist${what}. Check the path.`);
  }
  if (network && /Connection refused|Connection timed out|timed out|No route to host|Network is unreachable|resolve hostname|Name or service not known|Temporary failure in name resolution|Connection reset|Broken pipe|Input\/output error|End of file|Server returned 5|\b5\d\d [A-Z][a-z]/i.test(stderr)) {
    return err('SOURCE_UNREACHABLE', `source ${shown} is unreachable${what}. Check the host, port and network path to the camera; it may be rebooting, so retrying later can help.`, true);
  }
  // A silent server makes ffprobe give up after the socket timeout with a generic "Invalid data".
  if (network && elapsedMs >= timeoutSec * 1000 * 0.8) {
    return err('SOURCE_UNREACHABLE', `source ${shown} did not answer within ${timeoutSec} s${what}. Check the camera is up and the port is its RTSP port; retrying later can help.`, true);
  }
  if (/Invalid data found|moov atom not found|could not find codec parameters|Invalid argument|Is a directory|Permission denied|corrupt|truncat/i.test(stderr)) {
    return network
      ? err('SOURCE_CORRUPT', `source ${shown} answered, but not with a stream ffprobe can read${what}. Check the URL points at a video stream.`)
      : err('SOURCE_CORRUPT', `source ${shown} is not a readable video file (corrupt, truncated or not video)${what}. Re-copy or re-record it.`);
  }
  return err('PROBE_FAILED', `ffprobe failed on ${shown}${what || ' without saying why'}.`, network);
}

function lastLines(text: string, n = 2): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-n)
    .join(' | ');
}

function parseJson<T>(text: string, shown: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new StreetwatchError('PROBE_FAILED', `ffprobe printed something other than JSON for ${shown}: ${text.slice(0, 200)}`, { cause: e });
  }
}

function parseRate(r: string | undefined): number | undefined {
  if (!r) return undefined;
  const [n, d] = r.split('/').map(Number);
  if (n === undefined || !Number.isFinite(n) || n <= 0) return undefined;
  const v = d === undefined ? n : d > 0 ? n / d : NaN;
  // 90000 or 1000 "fps" is a time base leaking through, not a frame rate.
  return Number.isFinite(v) && v > 0 && v <= 240 ? v : undefined;
}

function fpsFromPackets(packets: ReadonlyArray<{ pts_time?: string }>): number | undefined {
  const pts = packets.map((p) => num(p.pts_time)).filter((p): p is number => p !== undefined);
  if (pts.length < 2) return undefined;
  const span = Math.max(...pts) - Math.min(...pts);
  return span > 0 ? (pts.length - 1) / span : undefined;
}

function num(s: string | number | undefined): number | undefined {
  if (s === undefined || s === 'N/A') return undefined;
  const n = typeof s === 'number' ? s : Number(s);
  return Number.isFinite(n) ? n : undefined;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
