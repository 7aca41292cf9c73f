import { describe, expect, it } from 'vitest';
import { FrameAssembler, parseShowinfoLine } from '../../../../pipeline/ffmpeg/frame-assembler.js';

describe('parseShowinfoLine', () => {
  it.each([
    ['[Parsed_showinfo_1 @ 0x561dedc5a080] n:   0 pts:      0 pts_time:0       pos:       74 fmt:rgb24 sar:1/1 s:320x180 i:P iskey:1 type:I ', { n: 0, ptsSec: 0, keyframe: true }],
    ['[Parsed_showinfo_3 @ 0x55] n:  12 pts:  25600 pts_time:2.048   pos: 1 fmt:rgb24 sar:1/1 s:640x360 i:P iskey:0 type:P', { n: 12, ptsSec: 2.048, keyframe: false }],
    ['[Parsed_showinfo_3 @ 0x55] n:1234 pts:-512 pts_time:-0.02 duration: 1', { n: 1234, ptsSec: -0.02, keyframe: false }],
  ])('%s', (line, want) => {
    expect(parseShowinfoLine(line)).toEqual(want);
  });
  it.each([
    '[Parsed_showinfo_3 @ 0x5595b54790c0] color_range:pc color_space:gbr',
    '[Parsed_showinfo_1 @ 0x1] config in time_base: 1/25, frame_rate: 25/1',
    'frame=   96 fps=0.0 q=-1.0',
    '',
  ])('ignores %s', (line) => expect(parseShowinfoLine(line)).toBeNull());
});

describe('FrameAssembler', () => {
  const info = (n: number) => ({ n, ptsSec: n / 2, keyframe: true });

  it('cuts frames by exact byte count across arbitrary chunking, in order, whichever side comes first', () => {
    const frameBytes = 12;
    const out: { data: number[]; n: number }[] = [];
    const a = new FrameAssembler(frameBytes, (d, i) => out.push({ data: [...d], n: i.n }));
    const all = Buffer.from(Array.from({ length: frameBytes * 3 + 5 }, (_, i) => i % 256));
    a.pushInfo(info(0));
    a.pushBytes(all.subarray(0, 5));
    a.pushBytes(all.subarray(5, 30)); // completes frame 0 and 1
    expect(out.map((o) => o.n)).toEqual([0]); // frame 1 waits for its info
    a.pushInfo(info(1));
    a.pushInfo(info(2));
    a.pushBytes(all.subarray(30));
    expect(out.map((o) => o.n)).toEqual([0, 1, 2]);
    expect(out[1]!.data).toEqual([...all.subarray(12, 24)]);
    expect(out[2]!.data).toEqual([...all.subarray(24, 36)]);
    expect(a.partialBytes).toBe(5);
  });

  it('does not share buffers between frames', () => {
    const frames: Buffer[] = [];
    const a = new FrameAssembler(4, (d) => frames.push(d));
    a.pushInfo(info(0));
    a.pushInfo(info(1));
    a.pushBytes(Buffer.from([1, 1, 1, 1, 2, 2, 2, 2]));
    expect(frames[0]).not.toBe(frames[1]);
    expect([...frames[0]!]).toEqual([1, 1, 1, 1]);
  });

  it('rejects a bad frame size', () => {
    expect(() => new FrameAssembler(0, () => {})).toThrow(RangeError);
  });
});
