import { describe, expect, it } from 'vitest';
import { pickKeyframe, pickKeyframeSelectExpr } from '../../../pipeline/keyframe-pick.js';

describe('pickKeyframe', () => {
  it.each<[string, number | undefined, number, number, boolean]>([
    ['the first keyframe', undefined, 10, 4, true],
    ['0 takes every keyframe', 10, 10.5, 0, true],
    ['2 s after the last, 4 s wanted', 10, 12, 4, false],
    ['4 s after the last', 10, 14, 4, true],
    ['a jittered GOP: 3.9 s is close enough', 10, 13.9, 4, true],
    ['but 3.7 s is not', 10, 13.7, 4, false],
    ['the clock went back (restart, replay)', 10, 2, 4, true],
    ['no PTS', 10, NaN, 4, true],
  ])('%s', (_what, last, pts, min, want) => {
    expect(pickKeyframe(last, pts, min)).toBe(want);
  });

  it.each<[string, number, number, number[]]>([
    ['1 s GOP, 4 s', 1, 4, [0, 4, 8]],
    ['2 s GOP, 4 s', 2, 4, [0, 4, 8]],
    ['4 s GOP, 4 s', 4, 4, [0, 4, 8]],
    ['2 s GOP, 6 s', 2, 6, [0, 6]],
    ['2 s GOP, 0', 2, 0, [0, 2, 4, 6, 8, 10]],
  ])('a stream of keyframes (%s) gives frames spaced by the interval whatever the GOP', (_what, gop, min, want) => {
    let last: number | undefined;
    const picked: number[] = [];
    for (let t = 0; t <= 10.5; t += gop) {
      if (!pickKeyframe(last, t, min)) continue;
      last = t;
      picked.push(t);
    }
    expect(picked).toEqual(want);
  });

  it('the ffmpeg select expression has the same slack', () => {
    expect(pickKeyframeSelectExpr(4)).toBe('isnan(prev_selected_t)+lt(t-prev_selected_t\\,0)+gte(t-prev_selected_t\\,3.75)');
  });
});
