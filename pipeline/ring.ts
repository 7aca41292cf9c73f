import { mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Service } from '../core/lifecycle.js';
import { once } from '../core/lifecycle.js';

/**
 * The evidence ring of one camera: the last N minutes of the compressed stream in ~2 s MPEG-TS segments that
 * ffmpeg writes (`-c copy`, named by local start time, see ffmpeg/args.ts). This part only keeps it bounded —
 * deleting segments older than the window — and lists segments for the evidence packager.
 */

export interface RingSegment {
  file: string;
  /** Local start time parsed from the name, ms since epoch. */
  startMs: number;
  /** Last write (≈ end of the segment), ms since epoch. */
  endMs: number;
  bytes: number;
}

const NAME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.ts$/;

/** Start time from a segment name (ffmpeg's strftime uses local time, as `new Date(y, m, …)` does). */
export function segmentStartMs(name: string): number | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return new Date(y!, mo! - 1, d!, h!, mi!, s!).getTime();
}

/** The segment files of a ring folder by start time (none if the folder does not exist yet). */
/** A ring segment file as its name describes it. */
export interface SegmentFile {
  file: string;
  name: string;
  /** Start from the name (local time, whole seconds: the true start is up to 1 s later). */
  startMs: number;
}

/** Where a camera's evidence ring lives under the data folder (the decoder writes it, evidence reads it). */
export const ringDir = (dataDir: string, cameraId: string): string => join(dataDir, 'ring', cameraId);

export async function segmentFiles(dir: string): Promise<SegmentFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: { file: string; name: string; startMs: number }[] = [];
  for (const name of names) {
    const startMs = segmentStartMs(name);
    if (startMs !== undefined) out.push({ file: join(dir, name), name, startMs });
  }
  return out.sort((a, b) => a.startMs - b.startMs);
}

/**
 * Which segments to delete: those that ended before `nowMs - keepMs`. The newest segment is never deleted
 * (ffmpeg may be writing it). Pure, for table tests.
 */
export function segmentsToPrune(segments: RingSegment[], nowMs: number, keepMs: number): RingSegment[] {
  if (segments.length <= 1) return [];
  const sorted = [...segments].sort((a, b) => a.startMs - b.startMs);
  return sorted.slice(0, -1).filter((s) => s.endMs < nowMs - keepMs);
}

export class SegmentRing implements Service {
  private timer: NodeJS.Timeout | undefined;
  readonly stop: () => Promise<void>;

  constructor(
    private readonly opts: {
      dir: string;
      keepMinutes: number;
      segmentSec: number;
      onDeleted?: (files: string[]) => void;
      onError?: (e: unknown) => void;
      now?: () => number;
    },
  ) {
    this.stop = once(async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
    });
  }

  get dir(): string {
    return this.opts.dir;
  }

  async start(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
    // Prune a few times per segment so the ring never overshoots its window by more than a segment.
    const every = Math.max(1000, this.opts.segmentSec * 1000);
    this.timer = setInterval(() => {
      this.prune().catch((e) => this.opts.onError?.(e));
    }, every);
    this.timer.unref();
    await this.prune();
  }

  async list(): Promise<RingSegment[]> {
    const out: RingSegment[] = [];
    for (const { file, startMs } of await segmentFiles(this.opts.dir)) {
      try {
        const st = await stat(file);
        out.push({ file, startMs, endMs: st.mtimeMs, bytes: st.size });
      } catch {
        /* deleted meanwhile */
      }
    }
    return out;
  }

  async prune(): Promise<string[]> {
    const now = (this.opts.now ?? Date.now)();
    const victims = segmentsToPrune(await this.list(), now, this.opts.keepMinutes * 60_000);
    const deleted: string[] = [];
    for (const v of victims) {
      try {
        await unlink(v.file);
        deleted.push(v.file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.opts.onError?.(e);
      }
    }
    if (deleted.length) this.opts.onDeleted?.(deleted);
    return deleted;
  }
}
