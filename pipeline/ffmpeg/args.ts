import type { FrameSizeConfig, RingConfig, SamplingConfig } from '../../config/schema.js';
import { pickKeyframeSelectExpr } from '../keyframe-pick.js';

/**
 * ffmpeg argument builders: pure functions from a camera's settings to the argument lists of its one ffmpeg
 * process. Kept apart from the process handling so the exact flags are unit-tested and reused by the bench.
 *
 * One process per camera, one connection to the camera, two outputs:
 *   (a) on stdout (pipe:1) either sampled frames, scaled inside ffmpeg, raw rgb24, one `showinfo` line per
 *       frame on stderr carrying its PTS (the raw pipe has no timestamps of its own) — or, for a camera on the
 *       shared decoders (`decode: 'shared'`), its keyframes stream-copied as FLV;
 *   (b) the evidence ring: the compressed stream copied (-c copy) into ~2 s MPEG-TS segments named by their
 *       local start time, so evidence clips later cost no re-encode.
 */

export type InputSpec =
  | { kind: 'rtsp'; url: string; transport: 'tcp' | 'udp'; timeoutSec: number }
  | { kind: 'file'; path: string; loop: boolean; realtime: boolean };

export interface DecoderArgsSpec {
  input: InputSpec;
  sampling: SamplingConfig;
  frame: FrameSizeConfig;
  /**
   * Folder for the ring's segments; omit (or ring.enabled false) for no ring. Segments are named by their
   * local start time (`time`, what the evidence packager looks up), which needs real time to pass between
   * segments: a file read faster than real time gets no ring (the file itself is the evidence), and the bench
   * uses `index` names instead.
   */
  ring?: RingConfig & { dir: string; naming?: 'time' | 'index' };
  /**
   * Where keyframes are decoded. `camera` (default): in this ffmpeg, which outputs raw frames. `shared`: this
   * ffmpeg only receives — the ring, and every keyframe stream-copied as FLV on stdout — and node picks the
   * keyframes to decode (`sampling.minIntervalSec`) and sends them to the shared decoders (pipeline/decode-pool.ts). H.264
   * and keyframe sampling only (FLV in ffmpeg 5.1 carries no H.265).
   */
  decode?: 'camera' | 'shared';
}

/**
 * How ffmpeg reads a source: the global flags and the source's own options, before `-i`. The camera decoder
 * and the console's live view (console/live/input.ts) both read cameras with these.
 */
export function sourceInputOptions(input: InputSpec): string[] {
  const opts = ['-hide_banner', '-nostats', '-loglevel', 'info'];
  if (input.kind === 'rtsp') {
    // ffmpeg never reconnects RTSP itself; the socket timeout turns a hung camera into an exit we respawn on.
    opts.push('-rtsp_transport', input.transport, '-timeout', String(Math.round(input.timeoutSec * 1e6)));
  } else {
    if (input.loop) opts.push('-stream_loop', '-1');
    if (input.realtime) opts.push('-re');
  }
  return opts;
}

/** ffmpeg's decoder threads per camera (`-threads` before `-i`). */
export const DECODER_THREADS = 1;
/** ffmpeg's filter-graph threads per camera (`-filter_threads`, the scale and pixel-format chain). */
export const FILTER_THREADS = 1;
/**
 * Threads of the rawvideo "encoder" of a frame output (`-threads` after `-i`). ffmpeg 5.1's rawvideo encoder
 * is frame-threaded, one thread per core by default, and a frame-threaded encoder hands each frame out only
 * when the next one comes in: every decoded frame waited in ffmpeg for the next keyframe (measured: frame N
 * reached the pipe 12–17 ms after keyframe N + 1 was written; with one thread, right after its own decode).
 * The copy it does needs no threads of its own.
 */
export const ENCODER_THREADS = 1;

/** Options that go before `-i` (they apply to reading and decoding the input). */
export function inputOptions(spec: DecoderArgsSpec): string[] {
  const opts = sourceInputOptions(spec.input);
  if (spec.decode === 'shared') {
    // Nothing is decoded here. With no decoding, probing waits out the whole analyzeduration; the SDP/SPS
    // already give codec and size.
    opts.push('-threads', String(DECODER_THREADS), '-analyzeduration', '2000000');
    return opts;
  }
  // One decoder thread and one filter thread. The H.264 decoder otherwise starts a frame thread per core, each
  // holding its own frame buffers, and frame threading has nothing to overlap at one frame per GOP (slice
  // threads need several slices per frame, which cameras rarely send). With hundreds of cameras per machine,
  // parallelism comes from the processes. Measured on 10 cameras (1080p25 GOP 50, keyframes, ring on): 1.84 →
  // 1.60 % of a core and 35.6 → 28.4 MB PSS per camera (tmp bench, issue 12 notes).
  opts.push('-threads', String(DECODER_THREADS), '-filter_threads', String(FILTER_THREADS));
  // Keyframe sampling: the decoder skips every non-key frame (~10× less CPU than a full decode). It applies to
  // decoding only; the ring's stream copy still gets every packet.
  if (spec.sampling.mode === 'keyframes') {
    // With non-key frames skipped, stream probing decodes almost nothing and waits out the whole default
    // analyzeduration (5 s) before the first frame; the SDP/SPS already give codec and size, 2 s is plenty.
    opts.push('-analyzeduration', '2000000', '-skip_frame', 'nokey');
    // Nor deblocking: a keyframe is decoded only to be scaled down for the detectors, where its block edges
    // average away, and nothing we decode refers to it. 18.4 → 16.2 ms per 1080p keyframe (decode + scale);
    // YOLOX found the same people at the same scores on both. Only here: in fps mode the filtered picture is
    // the reference of the frames after it, and skipping the filter would drift. Evidence stills are cut from
    // the ring with the filter on.
    opts.push('-skip_loop_filter', 'all');
  }
  return opts;
}

export function inputTarget(spec: DecoderArgsSpec): string {
  return spec.input.kind === 'rtsp' ? spec.input.url : spec.input.path;
}

/** The filter chain of the frame output; showinfo must stay last so each of its lines is one piped frame. */
export function frameFilter(spec: DecoderArgsSpec): string {
  const parts: string[] = [];
  if (spec.sampling.mode === 'fps') parts.push(`fps=${spec.sampling.fps}`);
  // Keyframes spaced by minIntervalSec: here only after decoding them all (the shared decoders skip the others
  // before decoding).
  if (spec.sampling.mode === 'keyframes' && spec.sampling.minIntervalSec > 0) parts.push(`select=${pickKeyframeSelectExpr(spec.sampling.minIntervalSec)}`);
  // Scaled to exactly the configured size; boxes are normalised, so a changed aspect ratio maps back exactly.
  parts.push(`scale=${spec.frame.width}:${spec.frame.height}:flags=bilinear`, 'format=rgb24', 'showinfo=checksum=0');
  return parts.join(',');
}

/** Output (a): the sampled raw frames on stdout. */
export function frameOutputOptions(spec: DecoderArgsSpec): string[] {
  const opts = ['-map', '0:v:0', '-vf', frameFilter(spec), '-an', '-sn', '-dn'];
  // Without passthrough, keyframe output is padded back to the full frame rate by duplicating frames.
  if (spec.sampling.mode === 'keyframes') opts.push('-fps_mode', 'passthrough');
  opts.push('-pix_fmt', 'rgb24', '-threads', String(ENCODER_THREADS), '-f', 'rawvideo');
  return opts;
}

export const FRAME_OUTPUT_TARGET = 'pipe:1';

/**
 * Output (a) of a receiver (`decode: 'shared'`): every keyframe, stream-copied as FLV on stdout. The noise
 * bitstream filter (its `drop` expression) throws the other frames away before they reach the pipe — about
 * 70 KB/s instead of the whole 0.5 MB/s stream — and each packet is flushed at once, so a keyframe leaves as
 * soon as it is received.
 */
export function keyframeOutputOptions(): string[] {
  return ['-map', '0:v:0', '-c:v', 'copy', '-an', '-sn', '-dn', '-bsf:v', 'noise=drop=not(key)', '-flush_packets', '1', '-f', 'flv'];
}

/** Output (b): the ring segments (stream copy); `strftime` names give each segment's local start time. */
export function ringOutputOptions(spec: DecoderArgsSpec): string[] {
  const ring = spec.ring;
  if (!ring || !ring.enabled) return [];
  return [
    '-map', '0:v:0', '-c:v', 'copy', '-an', '-sn', '-dn',
    '-f', 'segment', '-segment_time', String(ring.segmentSec), '-segment_format', 'mpegts',
    '-reset_timestamps', '1',
    ...(ring.naming === 'index' ? [] : ['-strftime', '1']),
  ];
}

export const RING_SEGMENT_PATTERN = '%Y%m%dT%H%M%S.ts';

export function ringOutputTarget(spec: DecoderArgsSpec): string | undefined {
  if (!spec.ring?.enabled) return undefined;
  return `${spec.ring.dir}/${spec.ring.naming === 'index' ? '%06d.ts' : RING_SEGMENT_PATTERN}`;
}

/** The options of the stdout output: raw frames, or (a receiver) keyframes as FLV. */
export function stdoutOutputOptions(spec: DecoderArgsSpec): string[] {
  return spec.decode === 'shared' ? keyframeOutputOptions() : frameOutputOptions(spec);
}

/** The whole argument list, as the bench and tests run it without fluent-ffmpeg. */
export function decoderArgs(spec: DecoderArgsSpec): string[] {
  const ringTarget = ringOutputTarget(spec);
  return [
    ...inputOptions(spec),
    '-i', inputTarget(spec),
    ...(ringTarget ? [...ringOutputOptions(spec), ringTarget] : []),
    ...stdoutOutputOptions(spec), FRAME_OUTPUT_TARGET,
  ];
}

/**
 * One shared decoder (pipeline/ffmpeg/shared-decoder.ts): keyframes of many cameras come in as FLV tags on
 * stdin, each with a timestamp that names its job (`-copyts` keeps it), and leave as raw frames of one size
 * with a `showinfo` line each. Low delay, minimal probing, a single-threaded rawvideo encoder (ENCODER_THREADS)
 * and every packet flushed, so a frame leaves as soon as it is decoded, without waiting for more input; no
 * deblocking, as in a camera's own keyframe decoding.
 */
export function sharedDecoderInputOptions(): string[] {
  return [
    '-hide_banner', '-nostats', '-loglevel', 'info',
    '-threads', String(DECODER_THREADS), '-filter_threads', String(FILTER_THREADS),
    '-skip_loop_filter', 'all', '-flags', 'low_delay', '-probesize', '32', '-analyzeduration', '0',
    '-copyts', '-f', 'flv',
  ];
}

export function sharedDecoderOutputOptions(frame: FrameSizeConfig): string[] {
  return [
    '-map', '0:v:0', '-vf', `scale=${frame.width}:${frame.height}:flags=bilinear,format=rgb24,showinfo=checksum=0`,
    '-fps_mode', 'passthrough', '-pix_fmt', 'rgb24', '-threads', String(ENCODER_THREADS), '-flush_packets', '1', '-f', 'rawvideo',
  ];
}

export function sharedDecoderArgs(frame: FrameSizeConfig): string[] {
  return [...sharedDecoderInputOptions(), '-i', 'pipe:0', ...sharedDecoderOutputOptions(frame), FRAME_OUTPUT_TARGET];
}

export function frameBytes(frame: FrameSizeConfig): number {
  return frame.width * frame.height * 3;
}
