/**
 * Gives each frame a wall-clock time from its PTS. A live source (an RTSP camera, or a file read at its own
 * rate) is anchored when its first frame arrives; a file read as fast as possible is anchored at a fixed start
 * (the configured video start time, or when decoding began), so its frames keep the video's own spacing.
 * Pure apart from the `now` it is given.
 */
export class FrameClock {
  private anchorWallMs: number | undefined;
  private anchorPts: number | undefined;

  constructor(
    private readonly live: boolean,
    /** For non-live sources: wall time of PTS 0. */
    private readonly startWallMs?: number,
  ) {}

  /** Wall time of a frame and, for live sources, how late it left the decoder (ms). */
  stamp(ptsSec: number, nowMs: number): { wallMs: number; lagMs: number | undefined } {
    const pts = Number.isFinite(ptsSec) ? ptsSec : 0;
    if (this.anchorPts === undefined) {
      if (this.live) {
        this.anchorWallMs = nowMs;
        this.anchorPts = pts;
      } else {
        this.anchorWallMs = this.startWallMs ?? nowMs;
        this.anchorPts = 0;
      }
    }
    const wallMs = Math.round(this.anchorWallMs! + (pts - this.anchorPts) * 1000);
    return { wallMs, lagMs: this.live ? nowMs - wallMs : undefined };
  }
}
