/**
 * Pairs ffmpeg's two per-frame streams: raw rgb24 bytes on stdout (no framing; cut by exact byte count) and
 * one `showinfo` line per frame on stderr (its PTS). The two pipes are read independently, so either side may
 * be ahead; frames are emitted in order as soon as both halves of one are present.
 */

export interface FrameInfo {
  /** showinfo's frame counter for this run. */
  n: number;
  ptsSec: number;
  keyframe: boolean;
}

// [Parsed_showinfo_2 @ 0x…] n:   3 pts:  12800 pts_time:0.512 pos: … iskey:1 type:I
const SHOWINFO = /\[Parsed_showinfo_\d+ @ [^\]]+\]\s+n:\s*(\d+)\s+pts:\s*(-?\d+|NOPTS)\s+pts_time:\s*(\S+)(?:.*?\biskey:\s*(\d))?/;

/** Parses one stderr line; null for anything that is not a per-frame showinfo line. */
export function parseShowinfoLine(line: string): FrameInfo | null {
  const m = SHOWINFO.exec(line);
  if (!m) return null;
  const ptsSec = Number(m[3]);
  return { n: Number(m[1]), ptsSec: Number.isFinite(ptsSec) ? ptsSec : NaN, keyframe: m[4] === '1' };
}

export class FrameAssembler {
  private readonly frameBytes: number;
  private current: Buffer;
  private filled = 0;
  private readonly readyData: Buffer[] = [];
  private readonly readyInfo: FrameInfo[] = [];
  /** Bytes that arrived but never formed a whole frame (a truncated last frame); reported at the end. */
  partialBytes = 0;

  constructor(frameBytes: number, private readonly emit: (data: Buffer, info: FrameInfo) => void) {
    if (!Number.isInteger(frameBytes) || frameBytes <= 0) throw new RangeError(`frameBytes must be a positive integer, got ${frameBytes}`);
    this.frameBytes = frameBytes;
    this.current = Buffer.allocUnsafe(frameBytes);
  }

  pushBytes(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(this.frameBytes - this.filled, chunk.length - offset);
      chunk.copy(this.current, this.filled, offset, offset + n);
      this.filled += n;
      offset += n;
      if (this.filled === this.frameBytes) {
        this.readyData.push(this.current);
        this.current = Buffer.allocUnsafe(this.frameBytes);
        this.filled = 0;
      }
    }
    this.partialBytes = this.filled;
    this.flush();
  }

  pushInfo(info: FrameInfo): void {
    this.readyInfo.push(info);
    this.flush();
  }

  /** Frames whose bytes arrived but whose info line has not (yet). */
  get pendingFrames(): number {
    return this.readyData.length;
  }

  private flush(): void {
    while (this.readyData.length > 0 && this.readyInfo.length > 0) {
      this.emit(this.readyData.shift()!, this.readyInfo.shift()!);
    }
  }
}
