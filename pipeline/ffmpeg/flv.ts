/**
 * The little of FLV that the shared decoders need, in both directions: reading the keyframes a camera's
 * receiver ffmpeg writes (`-c copy -f flv pipe:1`), and writing keyframes of many cameras into one decoder
 * ffmpeg (`-f flv -i pipe:0`). FLV is used because each tag carries its own length: a keyframe is whole the
 * moment its last byte arrives (MPEG-TS and raw Annex B only end when the next frame starts — a whole GOP
 * later), and each tag carries a timestamp we set ourselves, which is how a decoded frame is matched back to
 * its camera. Pure: no I/O.
 *
 * Format: 9-byte header, then `PreviousTagSize(4)` + tags of `type(1) size(3) timestamp(3) timestampExt(1)
 * streamId(3) data(size)`. A video tag's data starts `frameType<<4 | codecId` (7 = AVC), `AVCPacketType`
 * (0 = decoder configuration, 1 = NAL units), `compositionTime(SI24)`, then the payload.
 */

export const FLV_TAG_VIDEO = 9;
const AVC_CODEC_ID = 7;
const HEADER_BYTES = 9;
const TAG_HEADER_BYTES = 11;

/** One H.264 frame read from a receiver: Annex B, with its camera's SPS/PPS in front of every keyframe. */
export interface FlvVideoFrame {
  /** Presentation time in ms (the tag's decode time plus its composition offset). */
  ptsMs: number;
  keyframe: boolean;
  /** Annex B byte stream (start codes), decodable on its own if `keyframe`. */
  annexB: Buffer;
}

export class FlvFormatError extends Error {}

interface AvcConfig {
  lengthSize: number;
  /** SPS and PPS NAL units in Annex B form, ready to put in front of a keyframe. */
  paramSetsAnnexB: Buffer;
}

const START_CODE = Buffer.from([0, 0, 0, 1]);

/** Parses an AVCDecoderConfigurationRecord (ISO 14496-15 §5.2.4.1). */
export function parseAvcConfig(rec: Buffer): AvcConfig {
  if (rec.length < 7 || rec[0] !== 1) throw new FlvFormatError('bad AVC decoder configuration record');
  const lengthSize = (rec[4]! & 0x03) + 1;
  const parts: Buffer[] = [];
  let p = 5;
  for (const countMask of [0x1f, 0xff]) {
    if (p >= rec.length) throw new FlvFormatError('truncated AVC decoder configuration record');
    const count = rec[p]! & countMask;
    p++;
    for (let i = 0; i < count; i++) {
      if (p + 2 > rec.length) throw new FlvFormatError('truncated AVC decoder configuration record');
      const len = rec.readUInt16BE(p);
      p += 2;
      if (p + len > rec.length) throw new FlvFormatError('truncated AVC decoder configuration record');
      parts.push(START_CODE, rec.subarray(p, p + len));
      p += len;
    }
  }
  return { lengthSize, paramSetsAnnexB: Buffer.concat(parts) };
}

/**
 * Length-prefixed NAL units → Annex B; SPS/PPS put in front when the frame carries none of its own. With
 * 4-byte lengths (what cameras send) the lengths are overwritten with start codes in `data` itself — it is
 * changed — so only the parameter sets cost a copy.
 */
export function avccToAnnexB(data: Buffer, lengthSize: number, paramSetsAnnexB?: Buffer): Buffer {
  const inPlace = lengthSize === 4;
  const parts: Buffer[] = [];
  let hasSps = false;
  let p = 0;
  while (p + lengthSize <= data.length) {
    const len = data.readUIntBE(p, lengthSize);
    if (len === 0 || p + lengthSize + len > data.length) throw new FlvFormatError(`NAL unit length ${len} runs past the frame (${data.length} bytes)`);
    if ((data[p + lengthSize]! & 0x1f) === 7) hasSps = true;
    if (inPlace) START_CODE.copy(data, p);
    else parts.push(START_CODE, data.subarray(p + lengthSize, p + lengthSize + len));
    p += lengthSize + len;
  }
  const body = inPlace ? data.subarray(0, p) : Buffer.concat(parts);
  return paramSetsAnnexB && !hasSps ? Buffer.concat([paramSetsAnnexB, body]) : body;
}

/**
 * Reads an FLV byte stream as it arrives and emits its H.264 video frames. The decoder configuration tag
 * (sent once, and again if the camera changes it) supplies the NAL length size and the SPS/PPS.
 */
export class FlvH264Reader {
  /**
   * Bytes not parsed yet, as they came (a keyframe arrives in several pipe reads): joined once when they hold
   * `need` bytes — the whole tag whose header has been read — not at every read.
   */
  private chunks: Buffer[] = [];
  private have = 0;
  private need = 0;
  private headerDone = false;
  private config: AvcConfig | undefined;

  constructor(private readonly emit: (frame: FlvVideoFrame) => void) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.have += chunk.length;
    if (this.have < this.need) return;
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.have);
    let p = 0;
    if (!this.headerDone) {
      if (buf.length < HEADER_BYTES + 4) return this.keep(buf, HEADER_BYTES + 4);
      if (buf.toString('latin1', 0, 3) !== 'FLV') throw new FlvFormatError('not an FLV stream (no FLV signature)');
      p = buf.readUInt32BE(5) + 4; // header size, then PreviousTagSize0
      this.headerDone = true;
    }
    let need = TAG_HEADER_BYTES;
    while (p + TAG_HEADER_BYTES <= buf.length) {
      const type = buf[p]! & 0x1f;
      const size = buf.readUIntBE(p + 1, 3);
      const end = p + TAG_HEADER_BYTES + size + 4;
      if (end > buf.length) {
        need = end - p;
        break;
      }
      const ts = buf.readUIntBE(p + 4, 3) + buf[p + 7]! * 0x1000000;
      if (type === FLV_TAG_VIDEO) this.video(buf.subarray(p + TAG_HEADER_BYTES, p + TAG_HEADER_BYTES + size), ts);
      p = end;
    }
    this.keep(buf.subarray(p), need);
  }

  /** Keeps the unparsed tail; nothing is parsed again until `need` bytes are there. */
  private keep(rest: Buffer, need: number): void {
    this.chunks = rest.length ? [rest] : [];
    this.have = rest.length;
    this.need = need;
  }

  private video(data: Buffer, ts: number): void {
    if (data.length < 5) return;
    const codec = data[0]! & 0x0f;
    if (codec !== AVC_CODEC_ID) throw new FlvFormatError(`video codec id ${codec} in FLV; only H.264 (7) is read here`);
    const packetType = data[1]!;
    const payload = data.subarray(5);
    if (packetType === 0) {
      this.config = parseAvcConfig(payload);
      return;
    }
    if (packetType !== 1) return; // end of sequence
    const cts = data.readIntBE(2, 3);
    const keyframe = data[0]! >> 4 === 1;
    const lengthSize = this.config?.lengthSize ?? 4;
    this.emit({ ptsMs: ts + cts, keyframe, annexB: avccToAnnexB(payload, lengthSize, keyframe ? this.config?.paramSetsAnnexB : undefined) });
  }
}

/** The header of an FLV stream carrying video only. */
export function flvHeader(): Buffer {
  // 'FLV', version 1, flags 0x01 (video), header size 9, PreviousTagSize0 = 0
  return Buffer.from([0x46, 0x4c, 0x56, 0x01, 0x01, 0, 0, 0, 9, 0, 0, 0, 0]);
}

/**
 * One keyframe as an FLV video tag whose payload stays Annex B. With no decoder configuration tag in the
 * stream ffmpeg's H.264 decoder reads the payload as Annex B, so frames of cameras with different SPS/PPS (and
 * sizes) can follow each other: each carries its own. `timestampMs` must fit in 32 bits.
 */
export function flvKeyframeTag(timestampMs: number, annexB: Buffer): Buffer {
  return Buffer.concat(flvKeyframeTagParts(timestampMs, annexB));
}

/** The same tag as its three parts — header, the Annex B bytes themselves, trailing size — to write without a join. */
export function flvKeyframeTagParts(timestampMs: number, annexB: Buffer): [Buffer, Buffer, Buffer] {
  if (!Number.isInteger(timestampMs) || timestampMs < 0 || timestampMs > 0xffffffff) throw new RangeError(`FLV timestamp out of range: ${timestampMs}`);
  const size = 5 + annexB.length;
  const head = Buffer.alloc(TAG_HEADER_BYTES + 5);
  head[0] = FLV_TAG_VIDEO;
  head.writeUIntBE(size, 1, 3);
  head.writeUIntBE(timestampMs & 0xffffff, 4, 3);
  head[7] = (timestampMs >>> 24) & 0xff;
  // stream id 0 (3 bytes), then: keyframe | AVC, NAL units, composition time 0
  head[TAG_HEADER_BYTES] = 0x10 | AVC_CODEC_ID;
  head[TAG_HEADER_BYTES + 1] = 1;
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(TAG_HEADER_BYTES + size);
  return [head, annexB, tail];
}
