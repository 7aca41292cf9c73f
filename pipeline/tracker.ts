import { coverage, iou } from '../core/box.js';
import type { Box, Detection, SemanticLabel } from '../detectors/contract.js';
import { footPoint, type Point } from './zones.js';

/**
 * Per-camera multi-object tracker, as a pure reducer (`updateTracks(state, detections, tMs)`): greedy IoU
 * association in two passes (confident detections first, then weak ones for tracks that are still unmatched,
 * ByteTrack-style), same semantic label only. A track survives `maxMissedSec` without detections, so an
 * object the detector misses for a few frames keeps its id — one object must not become two violations.
 *
 * Stationarity is what the rules need: each track keeps an anchor (its foot point when it last settled) and
 * `stillSinceMs`. A foot point that jitters within `stillRadius` (or a third of the box width, for large
 * boxes) keeps the anchor; moving farther re-anchors and restarts the still time.
 */
export interface TrackerParams {
  iouMatch: number;
  /** Detections at or above this score match first; weaker ones only extend unmatched tracks. */
  highScore: number;
  maxMissedSec: number;
  /** Normalised distance of foot-point jitter that still counts as standing still. */
  stillRadius: number;
  /** Box smoothing (0 = no smoothing, 0.9 = heavy): damps jitter without lagging real movement much. */
  smoothing: number;
}

export const DEFAULT_TRACKER: TrackerParams = { iouMatch: 0.3, highScore: 0.5, maxMissedSec: 10, stillRadius: 0.02, smoothing: 0.5 };

export interface Track {
  id: number;
  semantic: SemanticLabel;
  label: string;
  detector: string;
  /** Smoothed box: what the rules see and stillness is judged on. */
  box: Box;
  /** The last detection's own box: what association matches against (smoothing lags a moving object). */
  lastBox: Box;
  score: number;
  firstSeenMs: number;
  lastSeenMs: number;
  hits: number;
  anchor: Point;
  stillSinceMs: number;
  /**
   * Static-object tracks only: in how many of the frames that saw the region a person detection (of any
   * score) matched it — covering most of it, and mostly inside it. A region that matches a person in most
   * frames is that person standing still; a pile that walkers cross, or a small one at people's feet that
   * their taller boxes cover, is a thing. Counted here because only the tracker sees every detection.
   */
  personCover?: { frames: number; covered: number; sinceMs: number };
}

export interface TrackerState {
  nextId: number;
  tracks: Track[];
}

export type TrackedDetection = Detection & { semantic: SemanticLabel; detector: string };

export const emptyTracker = (): TrackerState => ({ nextId: 1, tracks: [] });


/** How long a track has stood still at `tMs`, seconds. */
export function stillSec(t: Track, tMs: number): number {
  return Math.max(0, (Math.min(tMs, t.lastSeenMs) - t.stillSinceMs) / 1000);
}

export function updateTracks(state: TrackerState, detections: readonly TrackedDetection[], tMs: number, p: TrackerParams = DEFAULT_TRACKER): TrackerState {
  const tracks = state.tracks.filter((t) => tMs - t.lastSeenMs <= p.maxMissedSec * 1000).map((t) => ({ ...t }));
  const matched = new Set<number>();
  const used = new Set<number>();
  const pass = (strong: boolean) => {
    const pairs: { ti: number; di: number; v: number }[] = [];
    detections.forEach((d, di) => {
      if (used.has(di) || (d.score >= p.highScore) !== strong) return;
      tracks.forEach((t, ti) => {
        if (matched.has(ti) || t.semantic !== d.semantic) return;
        const v = iou(t.lastBox, d.box);
        if (v >= p.iouMatch) pairs.push({ ti, di, v });
      });
    });
    pairs.sort((a, b) => b.v - a.v);
    for (const { ti, di } of pairs) {
      if (matched.has(ti) || used.has(di)) continue;
      matched.add(ti);
      used.add(di);
      tracks[ti] = advance(tracks[ti]!, detections[di]!, tMs, p);
    }
  };
  pass(true);
  pass(false);
  let nextId = state.nextId;
  detections.forEach((d, di) => {
    if (used.has(di) || d.score < p.highScore) return; // weak detections do not start tracks
    const since = Math.min(tMs, d.sinceMs ?? tMs);
    tracks.push({ id: nextId++, semantic: d.semantic, label: d.label, detector: d.detector, box: d.box, lastBox: d.box, score: d.score, firstSeenMs: since, lastSeenMs: tMs, hits: 1, anchor: footPoint(d.box), stillSinceMs: since });
  });
  for (const t of tracks) {
    if (t.semantic !== 'static_object' || t.lastSeenMs !== tMs) continue;
    const covered = detections.some((d) => d.semantic === 'person' && coverage(t.box, d.box) > 0.5 && coverage(d.box, t.box) > 0.5);
    const c = t.personCover ?? { frames: 0, covered: 0, sinceMs: tMs };
    t.personCover = { frames: c.frames + 1, covered: c.covered + (covered ? 1 : 0), sinceMs: c.sinceMs };
  }
  return { nextId, tracks };
}

function advance(t: Track, d: TrackedDetection, tMs: number, p: TrackerParams): Track {
  const a = p.smoothing;
  const box = t.box.map((v, i) => a * v + (1 - a) * d.box[i]!) as Box;
  const foot = footPoint(box);
  const radius = Math.max(p.stillRadius, (box[2] - box[0]) / 3);
  const moved = Math.hypot(foot[0] - t.anchor[0], foot[1] - t.anchor[1]) > radius;
  return {
    ...t,
    box,
    lastBox: d.box,
    score: Math.max(d.score, 0.5 * t.score + 0.5 * d.score),
    lastSeenMs: tMs,
    hits: t.hits + 1,
    anchor: moved ? foot : t.anchor,
    stillSinceMs: moved ? tMs : Math.min(t.stillSinceMs, d.sinceMs ?? Infinity),
  };
}
