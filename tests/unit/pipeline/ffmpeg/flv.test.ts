import { describe, expect, it } from 'vitest';
import { avccToAnnexB, FlvFormatError, FlvH264Reader, flvHeader, flvKeyframeTag, parseAvcConfig, type FlvVideoFrame } from '../../../../pipeline/ffmpeg/flv.js';

// Made-up NAL units: only their type bits (low 5 of the first byte) matter to the reader.
const SPS = Buffer.from([0x67, 0x42, 0xc0, 0x1e, 0xaa]);
const PPS = Buffer.from([0x68, 0xce, 0x3c, 0x80]);
const IDR = Buffer.from([0x65, 0x88, 0x84, 0x00, 0x33, 0x21]);
const P = Buffer.from([0x41, 0x9a, 0x02]);
const SC = Buffer.from([0, 0, 0, 1]);

function avcConfig(lengthSizeMinusOne = 3): Buffer {
  const len = (b: Buffer) => Buffer.from([b.length >> 8, b.length & 0xff]);
  return Buffer.concat([Buffer.from([1, 0x42, 0xc0, 0x1e, 0xfc | lengthSizeMinusOne, 0xe1]), len(SPS), SPS, Buffer.from([1]), len(PPS), PPS]);
}

function avcc(nals: Buffer[], lengthSize = 4): Buffer {
  return Buffer.concat(nals.flatMap((n) => [Buffer.from(Array.from({ length: lengthSize }, (_, i) => (n.length >> (8 * (lengthSize - 1 - i))) & 0xff)), n]));
}

/** An FLV video tag as ffmpeg's FLV muxer writes it. */
function tag(ts: number, frameType: 1 | 2, packetType: 0 | 1, payload: Buffer, cts = 0): Buffer {
  const data = Buffer.concat([Buffer.from([(frameType << 4) | 7, packetType, (cts >> 16) & 0xff, (cts >> 8) & 0xff, cts & 0xff]), payload]);
  const head = Buffer.alloc(11);
  head[0] = 9;
  head.writeUIntBE(data.length, 1, 3);
  head.writeUIntBE(ts & 0xffffff, 4, 3);
  head[7] = Math.floor(ts / 0x1000000) & 0xff;
  const prev = Buffer.alloc(4);
  prev.writeUInt32BE(11 + data.length);
  return Buffer.concat([head, data, prev]);
}

function stream(): Buffer {
  const script = Buffer.concat([Buffer.from([18, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([2, 0, 0]), Buffer.from([0, 0, 0, 14])]); // a script tag, skipped
  return Buffer.concat([
    flvHeader(),
    script,
    tag(0, 1, 0, avcConfig()),
    tag(40, 1, 1, avcc([IDR])),
    tag(80, 2, 1, avcc([P]), 40),
    tag(0x1234567, 1, 1, avcc([SPS, PPS, IDR])), // past 24 bits of ms: the extension byte counts
  ]);
}

function read(bytes: Buffer, chunk: number): FlvVideoFrame[] {
  const out: FlvVideoFrame[] = [];
  const r = new FlvH264Reader((f) => out.push(f));
  for (let i = 0; i < bytes.length; i += chunk) r.push(bytes.subarray(i, i + chunk));
  return out;
}

describe('FLV H.264 reader', () => {
  it.each([1, 7, 64, 100_000])('reads the same frames whatever the chunk size (%i bytes)', (chunk) => {
    const frames = read(stream(), chunk);
    expect(frames.map((f) => [f.ptsMs, f.keyframe])).toEqual([
      [40, true],
      [120, false], // decode time 80 + composition 40
      [0x1234567, true],
    ]);
    // a keyframe without SPS/PPS of its own gets the configuration's in front; one with them is left alone
    expect(frames[0]!.annexB).toEqual(Buffer.concat([SC, SPS, SC, PPS, SC, IDR]));
    expect(frames[1]!.annexB).toEqual(Buffer.concat([SC, P]));
    expect(frames[2]!.annexB).toEqual(Buffer.concat([SC, SPS, SC, PPS, SC, IDR]));
  });

  it('follows the NAL length size of the configuration (2 bytes)', () => {
    const bytes = Buffer.concat([flvHeader(), tag(0, 1, 0, avcConfig(1)), tag(10, 1, 1, avcc([IDR], 2))]);
    expect(read(bytes, 5)[0]!.annexB).toEqual(Buffer.concat([SC, SPS, SC, PPS, SC, IDR]));
  });

  it.each<[string, Buffer]>([
    ['no FLV signature', Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(20)])],
    ['a NAL length past the frame', Buffer.concat([flvHeader(), tag(0, 1, 1, Buffer.from([0, 0, 0, 99, 0x65]))])],
    ['a video codec other than H.264', Buffer.concat([flvHeader(), tag(0, 1, 1, avcc([IDR])).fill(0x1c, 11, 12)])],
  ])('refuses %s with a FlvFormatError', (_name, bytes) => {
    expect(() => read(bytes, bytes.length)).toThrow(FlvFormatError);
  });

  it('parseAvcConfig refuses a truncated record', () => {
    expect(() => parseAvcConfig(avcConfig().subarray(0, 9))).toThrow(FlvFormatError);
  });

  it('avccToAnnexB keeps the NAL units in order; 4-byte lengths become start codes in place (no copy)', () => {
    const data = avcc([SPS, PPS, IDR]);
    const out = avccToAnnexB(data, 4);
    expect(out).toEqual(Buffer.concat([SC, SPS, SC, PPS, SC, IDR]));
    expect(out.buffer).toBe(data.buffer);
    expect(avccToAnnexB(avcc([SPS, PPS, IDR], 2), 2)).toEqual(Buffer.concat([SC, SPS, SC, PPS, SC, IDR]));
    expect(() => avccToAnnexB(avcc([IDR]).subarray(0, 6), 4)).toThrow(FlvFormatError);
  });
});

describe('FLV keyframe tag (into a shared decoder)', () => {
  it('is a keyframe AVC NALU tag carrying the Annex B bytes and its full 32-bit timestamp', () => {
    const annexB = Buffer.concat([SC, SPS, SC, PPS, SC, IDR]);
    const t = flvKeyframeTag(0x8100_0002, annexB);
    expect(t[0]).toBe(9);
    expect(t.readUIntBE(1, 3)).toBe(5 + annexB.length);
    expect(t.readUIntBE(4, 3) + t[7]! * 0x1000000).toBe(0x8100_0002);
    expect([t[11], t[12]]).toEqual([0x17, 1]);
    expect(t.subarray(16, 16 + annexB.length)).toEqual(annexB);
    expect(t.readUInt32BE(t.length - 4)).toBe(t.length - 4);
  });

  it.each([-1, 1.5, 2 ** 32])('refuses timestamp %s', (ts) => {
    expect(() => flvKeyframeTag(ts, Buffer.alloc(1))).toThrow(RangeError);
  });
});
