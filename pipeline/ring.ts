import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Service } from '../core/lifecycle.js';
import { once } from '../core/lifecycle.js';

/**
 * The evidence ring of one camera: the recent compressed stream in ~2 s MPEG-TS segments that ffmpeg writes
 * (`-c copy`, named by local start time, see ffmpeg/args.ts). This part only keeps it bounded and lists
 * segments for the evidence packager.
 *
 * What is kept is what evidence can still ask for. A camera where nothing is going on keeps only `idleKeepSec`
 * (enough for an update's clip, `clipBeforeSec` + `clipAfterSec`); while something stands in one of its zones
 * — what may become an incident, whose package needs a still and a clip from its first sighting — the ring
 * keeps everything since then (the pin), up to `keepMinutes`. What a restarted ring finds from before its
 * start is kept up to `keepMinutes` too: evidence owed from before a crash is cut from it. Most cameras, most of
 * the time, hold seconds instead of minutes: on disk, and in writes, since a segment deleted before the
 * kernel's writeback (30 s by default) is never written to the disk at all.
 */

const NAME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.ts$/;

/** Start time from a segment name (ffmpeg's strftime uses local time, as `new Date(y, m, …)` does). */
export function segmentStartMs(name: string): number | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return new Date(y!, mo! - 1, d!, h!, mi!, s!).getTime();
}

/** A ring segment file as its name describes it. */
export interface SegmentFile {
  file: string;
  name: string;
  /** Start from the name (local time, whole seconds: the true start is up to 1 s later). */
  startMs: number;
}

/** Where a camera's evidence ring lives under the data folder (the decoder writes it, evidence reads it). */
export const ringDir = (dataDir: string, cameraId: string): string => join(dataDir, 'ring', cameraId);

/** The segment files of a ring folder by start time (none if the folder does not exist yet). */
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

export interface RingPolicy {
  /** Nothing older than this is kept, pinned or not. */
  keepMs: number;
  /** Kept when nothing is pinned. */
  idleKeepMs: number;
  /** Keep everything from this time (ms since epoch) while it is set; -Infinity keeps everything up to keepMs. */
  pinFromMs?: number;
  /**
   * Segments that started before this (the ring's start) are kept up to keepMs: after a restart nothing is
   * pinned yet, but evidence owed from before it (dispatcher/incidents/owed.ts) is still to be cut from them.
   */
  heldBeforeMs?: number;
}

/**
 * Which segments to delete. A segment ends where the next one starts (from the names alone: no stat of every
 * segment of every camera every few seconds). It goes when it ended before `now - keepMs`, or before
 * `now - idleKeepMs` and before the pin. The newest segment is never deleted (ffmpeg is writing it). Pure.
 */
export function segmentsToPrune<S extends Pick<SegmentFile, 'startMs'>>(segments: readonly S[], nowMs: number, policy: RingPolicy): S[] {
  if (segments.length <= 1) return [];
  const sorted = [...segments].sort((a, b) => a.startMs - b.startMs);
  const out: S[] = [];
  for (let i = 0; i < sorted.length - 1; i++) {
    const endMs = sorted[i + 1]!.startMs;
    const pinned = (policy.pinFromMs !== undefined && endMs >= policy.pinFromMs) || (policy.heldBeforeMs !== undefined && sorted[i]!.startMs < policy.heldBeforeMs);
    if (endMs < nowMs - policy.keepMs || (endMs < nowMs - policy.idleKeepMs && !pinned)) out.push(sorted[i]!);
  }
  return out;
}

export class SegmentRing implements Service {
  private timer: NodeJS.Timeout | undefined;
  private startedAt: number | undefined;
  readonly stop: () => Promise<void>;

  constructor(
    private readonly opts: {
      dir: string;
      keepMinutes: number;
      /** Seconds kept while nothing is pinned (at most keepMinutes). */
      idleKeepSec: number;
      /** From when the camera's evidence may still need video (ms since epoch), if anything is pending. */
      pinFromMs?: () => number | undefined;
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
    this.startedAt = (this.opts.now ?? Date.now)();
    await mkdir(this.opts.dir, { recursive: true });
    // Prune a few times per segment so the ring never overshoots its window by more than a segment.
    const every = Math.max(1000, this.opts.segmentSec * 1000);
    this.timer = setInterval(() => {
      this.prune().catch((e) => this.opts.onError?.(e));
    }, every);
    this.timer.unref();
    await this.prune();
  }

  async prune(): Promise<string[]> {
    const now = (this.opts.now ?? Date.now)();
    const keepMs = this.opts.keepMinutes * 60_000;
    const victims = segmentsToPrune(await segmentFiles(this.opts.dir), now, { keepMs, idleKeepMs: Math.min(keepMs, this.opts.idleKeepSec * 1000), pinFromMs: this.opts.pinFromMs?.(), heldBeforeMs: this.startedAt });
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
