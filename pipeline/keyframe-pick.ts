/**
 * Which keyframes are decoded under keyframe sampling with `minIntervalSec`: the violations stand still for
 * minutes, so a look every few seconds is enough, and a keyframe not decoded costs nothing (the shared decoders
 * never see it). Spacing is by the camera's own time, not by count, so one setting suits cameras whatever
 * their GOP: with 4 s, a 1 s GOP gives every fourth keyframe, a 2 s GOP every other one, a 4 s GOP each one.
 * Pure: the caller keeps the last picked PTS per camera.
 */

/** Keyframe intervals jitter (a camera's 2 s GOP is 1.96 s, then 2.04 s): this much early still counts. */
export const PICK_SLACK_SEC = 0.25;

export function pickKeyframe(lastPickedPtsSec: number | undefined, ptsSec: number, minIntervalSec: number): boolean {
  if (minIntervalSec <= 0 || lastPickedPtsSec === undefined || !Number.isFinite(ptsSec)) return true;
  const since = ptsSec - lastPickedPtsSec;
  // a clock that went back (a restarted stream, a replayed file) starts spacing again
  return since < 0 || since >= minIntervalSec - PICK_SLACK_SEC;
}

/** The same choice as an ffmpeg `select` expression, for a camera that decodes in its own ffmpeg. */
export function pickKeyframeSelectExpr(minIntervalSec: number): string {
  const min = Math.max(0, minIntervalSec - PICK_SLACK_SEC);
  return `isnan(prev_selected_t)+lt(t-prev_selected_t\\,0)+gte(t-prev_selected_t\\,${min})`;
}
