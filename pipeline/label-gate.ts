/**
 * Labelling on demand: which frames a camera's object detectors (YOLOX and the like, the expensive part of
 * detection) run on. The violations are things that stand still for minutes, and the static-object detector
 * (cheap: a background model on a small grey frame) sees every new still thing, so a camera's object
 * detectors run on a frame when the static-object detector found something on it — then every label the rules
 * need is there — and otherwise at least every `everySec` of the camera's time, so the people, carts and
 * umbrellas the tracker follows are seen often enough to keep their tracks (the tracker keeps a track for
 * `maxMissedSec`, 10 s, without a sighting; `everySec` stays below it) and a thing the static detector has not
 * learnt yet is still labelled. Most frames of most street cameras show nothing new: they skip the object
 * detectors. Pure: the caller keeps one state per camera and passes the frame's time.
 */

export interface LabelGateParams {
  /** False runs every detector on every frame. */
  enabled: boolean;
  /** The detector whose findings open the gate (the static-object detector). */
  trigger: string;
  /** Object detectors run at least this often per camera, seconds of the camera's time. */
  everySec: number;
}

export interface LabelGateState {
  /** The frame time the object detectors last ran on for this camera. */
  lastLabelledMs?: number;
}

/**
 * Whether the camera's object detectors run on a frame at `frameMs` (its wall time), given whether the trigger
 * found anything on it. A frame earlier than the last labelled one (a camera restarted, a file replayed) runs
 * them: the camera's clock started again.
 */
export function shouldLabel(state: LabelGateState, frameMs: number, triggerFound: boolean, p: LabelGateParams): boolean {
  if (!p.enabled || triggerFound || state.lastLabelledMs === undefined) return true;
  const since = frameMs - state.lastLabelledMs;
  return since < 0 || since >= p.everySec * 1000;
}
