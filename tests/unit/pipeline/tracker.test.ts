import { describe, expect, it } from 'vitest';
import type { Box } from '../../../detectors/contract.js';
import { emptyTracker, stillSec, updateTracks, type TrackedDetection, type TrackerState } from '../../../pipeline/tracker.js';
import { detection } from '../../helpers/factories.js';

const feed = (frames: TrackedDetection[][], stepMs = 1000): TrackerState[] => {
  const out: TrackerState[] = [];
  let s = emptyTracker();
  frames.forEach((dets, i) => {
    s = updateTracks(s, dets, i * stepMs);
    out.push(s);
  });
  return out;
};

describe('tracker', () => {
  it('keeps one id for a still object whose box jitters, and accumulates still time', () => {
    const jitter = (i: number): Box => [0.4 + (i % 2) * 0.006, 0.5 - (i % 3) * 0.004, 0.5 + (i % 2) * 0.004, 0.7 + (i % 3) * 0.005];
    const states = feed(Array.from({ length: 60 }, (_, i) => [detection(jitter(i))]));
    const last = states.at(-1)!;
    expect(last.tracks.length).toBe(1);
    expect(last.tracks[0]!.id).toBe(1);
    expect(stillSec(last.tracks[0]!, 59_000)).toBe(59);
  });

  it('a moving object keeps its id but its still time restarts', () => {
    const states = feed(Array.from({ length: 20 }, (_, i) => [detection([0.1 + i * 0.03, 0.4, 0.2 + i * 0.03, 0.7], 'person')]));
    const t = states.at(-1)!.tracks;
    expect(t.map((x) => x.id)).toEqual([1]);
    expect(stillSec(t[0]!, 19_000)).toBeLessThanOrEqual(2);
  });

  it('an object missed for a few frames keeps its id (no split); after maxMissed it is gone', () => {
    const seen = [detection([0.4, 0.5, 0.5, 0.7])];
    const frames = [seen, seen, seen, [], [], [], seen, seen];
    const states = feed(frames);
    expect(states.at(-1)!.tracks.map((t) => t.id)).toEqual([1]);
    expect(stillSec(states.at(-1)!.tracks[0]!, 7000)).toBe(7);
    const gone = feed([seen, ...Array(12).fill([]), seen]);
    expect(gone.at(-1)!.tracks.map((t) => t.id)).toEqual([2]);
  });

  it('does not match across semantic labels, and tracks two objects apart', () => {
    const s = feed([
      [detection([0.1, 0.5, 0.2, 0.7]), detection([0.1, 0.5, 0.2, 0.7], 'person'), detection([0.6, 0.5, 0.7, 0.7])],
      [detection([0.1, 0.5, 0.2, 0.7]), detection([0.1, 0.5, 0.2, 0.7], 'person'), detection([0.6, 0.5, 0.7, 0.7])],
    ]).at(-1)!;
    expect(s.tracks.map((t) => [t.id, t.semantic, t.hits])).toEqual([[1, 'goods', 2], [2, 'person', 2], [3, 'goods', 2]]);
  });

  it('weak detections extend existing tracks but never start new ones', () => {
    const s = feed([[detection([0.4, 0.5, 0.5, 0.7])], [detection([0.4, 0.5, 0.5, 0.7], 'goods', { score: 0.2 }), detection([0.8, 0.5, 0.9, 0.7], 'goods', { score: 0.2 })]]).at(-1)!;
    expect(s.tracks.map((t) => [t.id, t.hits])).toEqual([[1, 2]]);
  });
});

describe('person cover of static regions', () => {
  it('counts the frames in which any person detection, even a weak one, covers most of a static region', () => {
    const region: Box = [0.4, 0.3, 0.45, 0.5];
    const standing = detection([0.395, 0.29, 0.455, 0.5], 'person', { score: 0.3 }); // too weak to start a track, still counted
    const walkerBeside = detection([0.46, 0.3, 0.5, 0.5], 'person', { score: 0.9 }); // next to it, not over it
    const walkerOver = detection([0.39, 0.05, 0.47, 0.5], 'person', { score: 0.9 }); // over it, but twice its height: a pile at their feet
    const frames = [[detection(region, 'static_object'), standing], [detection(region, 'static_object'), walkerOver], [detection(region, 'static_object'), standing, walkerBeside], [detection(region, 'static_object'), walkerBeside]];
    const s = feed(frames).at(-1)!;
    const region1 = s.tracks.find((t) => t.semantic === 'static_object')!;
    // counted since the first frame that saw the region (t = 0): how long the count has been kept
    expect(region1.personCover).toEqual({ frames: 4, covered: 2, sinceMs: 0 });
    expect(s.tracks.find((t) => t.semantic === 'person')!.personCover).toBeUndefined();
    // a frame that does not see the region does not count
    const missed = feed([...frames, []]).at(-1)!.tracks.find((t) => t.semantic === 'static_object')!;
    expect(missed.personCover).toEqual({ frames: 4, covered: 2, sinceMs: 0 });
  });
});

describe('tracker and detector-reported presence', () => {
  it('counts still time from a detection\'s sinceMs (the static-object detector\'s own latency)', () => {
    let s = emptyTracker();
    s = updateTracks(s, [{ ...detection([0.4, 0.5, 0.5, 0.7], 'static_object'), sinceMs: -12_000 }], 0);
    expect(s.tracks[0]!.stillSinceMs).toBe(-12_000);
    expect(stillSec(s.tracks[0]!, 0)).toBe(12);
    s = updateTracks(s, [{ ...detection([0.4, 0.5, 0.5, 0.7], 'static_object'), sinceMs: -3_000 }], 1000);
    expect(s.tracks[0]!.stillSinceMs).toBe(-12_000);
  });
});
