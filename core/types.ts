/** A GPS position as the vehicle telemetry reports it, or as interpolated for a frame. */
export interface GeoFix {
  /** Wall-clock time of the fix, ms since the epoch (UTC). */
  ts: number;
  lat: number;
  lon: number;
  /** Degrees clockwise from true north, if known. */
  heading?: number;
  /** Metres per second, if known. */
  speed?: number;
}

/** Where a vehicle frame was taken: an interpolated position, or an explicit statement that there was none. */
export type FramePosition =
  | { status: 'fix'; lat: number; lon: number; heading?: number; speed?: number; /** ms to the nearer real fix */ gapMs: number }
  | { status: 'no_fix'; reason: string };

/**
 * One sampled frame on its way to detection: raw RGB (rgb24, row-major, no padding) scaled by ffmpeg.
 * `data.length === width * height * 3` always holds (the decoder parses by exact byte count).
 */
export interface Frame {
  cameraId: string;
  /** 0-based index of this frame in the current decoder run. */
  seq: number;
  /** Presentation time in seconds, from ffmpeg (stream time base). */
  ptsSec: number;
  /** Wall-clock time the frame was taken, ms since epoch. Live: stream start + PTS; files: decode time. */
  wallMs: number;
  width: number;
  height: number;
  format: 'rgb24';
  data: Buffer;
  /** Only for vehicle feeds. */
  position?: FramePosition;
}
