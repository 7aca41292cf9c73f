import type { FramePosition, GeoFix } from '../../../core/types.js';

/**
 * What one telemetry line contributed. Parsers return this so the batch parsers and the live feed share one code path.
 * `merged` is true when the line refined a timestamp an earlier line already produced (an RMC and a GGA of the same
 * epoch): the result then supersedes the earlier one for that `ts` and must not be counted as a new fix.
 */
export type TelemetryLineResult =
  | { kind: 'fix'; fix: GeoFix; merged: boolean }
  | { kind: 'no_fix'; ts: number; merged: boolean }
  | { kind: 'error'; line: number; message: string }
  | { kind: 'ignored' };

export interface TelemetryLineParser {
  /** Feeds one line (without its newline). Returns undefined for a blank line. */
  push(line: string, lineNo: number): TelemetryLineResult | undefined;
}

export interface TelemetryParseResult {
  fixes: GeoFix[];
  /** Timestamps of explicit "no fix" statements (NMEA status V / quality 0, JSONL null lat/lon). */
  noFix: number[];
  errors: { line: number; message: string }[];
  /** Valid lines that carry nothing positional (GSV, VTG, …). */
  ignored: number;
}

/** Runs a whole text through a parser, keeping the last word for each timestamp, as a track would. */
export function parseAllLines(parser: TelemetryLineParser, text: string): TelemetryParseResult {
  const byTs = new Map<number, GeoFix | null>();
  const errors: TelemetryParseResult['errors'] = [];
  let ignored = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const r = parser.push(lines[i]!, i + 1);
    if (r === undefined) continue;
    if (r.kind === 'fix') byTs.set(r.fix.ts, r.fix);
    else if (r.kind === 'no_fix') byTs.set(r.ts, null);
    else if (r.kind === 'error') errors.push({ line: r.line, message: r.message });
    else ignored++;
  }
  const fixes: GeoFix[] = [];
  const noFix: number[] = [];
  for (const [ts, f] of byTs) {
    if (f === null) noFix.push(ts);
    else fixes.push(f);
  }
  return { fixes, noFix, errors, ignored };
}

export interface TelemetryTrackOptions {
  /** Most fixes kept (oldest dropped first). Default 200 000: 5.5 h at 10 Hz, ~20 MB. */
  maxFixes?: number;
  /**
   * Fixes older than this behind the newest one are dropped. Default 6 h: a recorded video is analysed from its
   * start while the whole sidecar is already loaded, so the window must cover a long recording, not just "now".
   */
  maxAgeMs?: number;
}

const DEFAULT_MAX_FIXES = 200_000;
const DEFAULT_MAX_AGE_MS = 6 * 3600_000;

/**
 * Sorted, bounded GPS history of one vehicle, answering "where was it at time t".
 *
 * Storage is a sorted array with a moving head index: eviction from the front is O(1) and the array is compacted
 * only when the dead prefix outgrows the live part, so steady 10 Hz input does not shift 200k elements per fix.
 */
export class TelemetryTrack {
  readonly maxFixes: number;
  readonly maxAgeMs: number;
  private fixes: GeoFix[] = [];
  private head = 0;
  private marks: number[] = [];
  private marksHead = 0;
  /** Everything before this was evicted; frames in that range get a reason that says so instead of "before first fix". */
  private evictedBeforeMs = -Infinity;

  constructor(opts: TelemetryTrackOptions = {}) {
    this.maxFixes = opts.maxFixes ?? DEFAULT_MAX_FIXES;
    this.maxAgeMs = opts.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    if (!(this.maxFixes >= 2) || !Number.isInteger(this.maxFixes)) throw new RangeError(`maxFixes must be an integer >= 2, got ${this.maxFixes}`);
    if (!(this.maxAgeMs > 0)) throw new RangeError(`maxAgeMs must be > 0, got ${this.maxAgeMs}`);
  }

  /** Number of fixes held. */
  get size(): number {
    return this.fixes.length - this.head;
  }

  /** Number of explicit no-fix marks held. */
  get noFixCount(): number {
    return this.marks.length - this.marksHead;
  }

  /** Time span covered by the held fixes, or undefined when there are none. */
  range(): { firstMs: number; lastMs: number } | undefined {
    if (this.size === 0) return undefined;
    return { firstMs: this.fixes[this.head]!.ts, lastMs: this.fixes[this.fixes.length - 1]!.ts };
  }

  /** A copy of the held fixes, oldest first. */
  toArray(): GeoFix[] {
    return this.fixes.slice(this.head);
  }

  /** A copy of the held no-fix marks, oldest first. */
  noFixMarks(): number[] {
    return this.marks.slice(this.marksHead);
  }

  /**
   * Adds a fix, replacing any fix or no-fix mark with the same ts (the later statement about an instant wins).
   * Returns false when the fix is older than what the memory bound keeps, so it was dropped.
   */
  add(fix: GeoFix): boolean {
    checkFix(fix);
    if (this.isTooOld(fix.ts)) return false;
    removeAt(this.marks, this.marksHead, fix.ts);
    const arr = this.fixes;
    const n = arr.length;
    if (n === this.head || arr[n - 1]!.ts < fix.ts) {
      arr.push(fix);
    } else {
      const i = lowerBound(arr, this.head, n, fix.ts, (f) => f.ts);
      if (i < n && arr[i]!.ts === fix.ts) arr[i] = fix;
      else arr.splice(i, 0, fix);
    }
    this.evict();
    return true;
  }

  /** Records that the receiver stated it had no fix at `ts`; removes a fix with the same ts. */
  markNoFix(ts: number): boolean {
    if (!Number.isFinite(ts)) throw new RangeError(`no-fix ts must be finite, got ${ts}`);
    if (this.isTooOld(ts)) return false;
    const i = lowerBound(this.fixes, this.head, this.fixes.length, ts, (f) => f.ts);
    if (i < this.fixes.length && this.fixes[i]!.ts === ts) this.fixes.splice(i, 1);
    const m = this.marks;
    const n = m.length;
    if (n === this.marksHead || m[n - 1]! < ts) m.push(ts);
    else {
      const j = lowerBound(m, this.marksHead, n, ts, (x) => x);
      if (m[j] !== ts) m.splice(j, 0, ts);
    }
    this.evict();
    return true;
  }

  /** Applies one parser result; errors and ignored lines do not touch the track. */
  apply(r: TelemetryLineResult): void {
    if (r.kind === 'fix') this.add(r.fix);
    else if (r.kind === 'no_fix') this.markNoFix(r.ts);
  }

  /**
   * Position at wall-clock `wallMs`: interpolated between the surrounding fixes, or the nearest fix when the frame is
   * just outside the covered range, or `no_fix` with the reason when no honest position exists.
   */
  positionAt(wallMs: number, maxGapMs: number): FramePosition {
    const arr = this.fixes;
    const n = arr.length;
    if (n === this.head) {
      return { status: 'no_fix', reason: this.noFixCount > 0 ? 'receiver has reported no fix so far' : 'no GPS fix received yet' };
    }
    const first = arr[this.head]!;
    const last = arr[n - 1]!;

    if (wallMs < first.ts) {
      if (wallMs < this.evictedBeforeMs) {
        return { status: 'no_fix', reason: `telemetry before ${iso(this.evictedBeforeMs)} was dropped by the memory bound` };
      }
      const gap = first.ts - wallMs;
      if (gap > maxGapMs) return { status: 'no_fix', reason: `frame is ${sec(gap)} before the first fix (max gap ${sec(maxGapMs)})` };
      const mark = this.markIn(wallMs, first.ts);
      if (mark !== undefined) return { status: 'no_fix', reason: `receiver reported no fix at ${iso(mark)}, before the first fix` };
      return at(first, gap);
    }
    if (wallMs > last.ts) {
      const gap = wallMs - last.ts;
      if (gap > maxGapMs) return { status: 'no_fix', reason: `frame is ${sec(gap)} after the last fix (max gap ${sec(maxGapMs)})` };
      const mark = this.markIn(last.ts, wallMs);
      if (mark !== undefined) return { status: 'no_fix', reason: `receiver reported no fix at ${iso(mark)}, after the last fix` };
      return at(last, gap);
    }

    const i = lowerBound(arr, this.head, n, wallMs, (f) => f.ts);
    const b = arr[i]!;
    if (b.ts === wallMs) return at(b, 0);
    const a = arr[i - 1]!;
    const span = b.ts - a.ts;
    if (span > 2 * maxGapMs) {
      return { status: 'no_fix', reason: `fixes around the frame are ${sec(span)} apart (more than 2 × max gap ${sec(maxGapMs)})` };
    }
    const mark = this.markIn(a.ts, b.ts);
    if (mark !== undefined) return { status: 'no_fix', reason: `receiver reported no fix at ${iso(mark)}, between the surrounding fixes` };
    return interpolate(a, b, wallMs);
  }

  private isTooOld(ts: number): boolean {
    return ts < this.evictedBeforeMs || ts < this.newestMs() - this.maxAgeMs;
  }

  private newestMs(): number {
    const f = this.fixes.length > this.head ? this.fixes[this.fixes.length - 1]!.ts : -Infinity;
    const m = this.marks.length > this.marksHead ? this.marks[this.marks.length - 1]! : -Infinity;
    return Math.max(f, m);
  }

  /**
   * First mark in [lo, hi], undefined when none. Inclusive on both ends is right for every caller: a mark never
   * shares its ts with a fix (each replaces the other), and a mark at the frame's own time is a no-fix for it.
   */
  private markIn(lo: number, hi: number): number | undefined {
    const m = this.marks;
    const j = lowerBound(m, this.marksHead, m.length, lo, (x) => x);
    return j < m.length && m[j]! <= hi ? m[j] : undefined;
  }

  private evict(): void {
    const minTs = this.newestMs() - this.maxAgeMs;
    const arr = this.fixes;
    let h = this.head;
    while (arr.length - h > this.maxFixes || (h < arr.length && arr[h]!.ts < minTs)) h++;
    if (h !== this.head) {
      this.evictedBeforeMs = Math.max(this.evictedBeforeMs, arr[h - 1]!.ts + 1);
      this.head = h;
    }
    // Marks are bounded on their own: a receiver that never gets a fix still reports "no fix" every second.
    // Marks before the first kept fix stay (they decide frames just before it) unless that span was evicted.
    const m = this.marks;
    const markMin = Math.max(minTs, this.evictedBeforeMs);
    let mh = this.marksHead;
    while (mh < m.length && (m[mh]! < markMin || m.length - mh > this.maxFixes)) mh++;
    this.marksHead = mh;
    if (this.head > 1024 && this.head * 2 > arr.length) {
      this.fixes = arr.slice(this.head);
      this.head = 0;
    }
    if (this.marksHead > 1024 && this.marksHead * 2 > m.length) {
      this.marks = m.slice(this.marksHead);
      this.marksHead = 0;
    }
  }
}

function checkFix(f: GeoFix): void {
  if (!Number.isFinite(f.ts)) throw new RangeError(`fix ts must be finite, got ${f.ts}`);
  if (!(Math.abs(f.lat) <= 90) || !(Math.abs(f.lon) <= 180)) throw new RangeError(`fix out of range: ${f.lat},${f.lon}`);
}

/** Removes `v` from the sorted array segment starting at `from`, if present. */
function removeAt(arr: number[], from: number, v: number): void {
  const i = lowerBound(arr, from, arr.length, v, (x) => x);
  if (arr[i] === v) arr.splice(i, 1);
}

/** First index in [lo, hi) whose key is >= v. */
function lowerBound<T>(arr: readonly T[], lo: number, hi: number, v: number, key: (x: T) => number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(arr[mid]!) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function at(f: GeoFix, gapMs: number): FramePosition {
  const p: FramePosition = { status: 'fix', lat: f.lat, lon: f.lon, gapMs };
  if (f.heading !== undefined) p.heading = f.heading;
  if (f.speed !== undefined) p.speed = f.speed;
  return p;
}

function interpolate(a: GeoFix, b: GeoFix, t: number): FramePosition {
  const k = (t - a.ts) / (b.ts - a.ts);
  const p: FramePosition = {
    status: 'fix',
    lat: a.lat + (b.lat - a.lat) * k,
    // Along the short way round, so a track crossing ±180° does not sweep across the whole globe.
    lon: wrap180(a.lon + shortestDelta(a.lon, b.lon) * k),
    gapMs: Math.min(t - a.ts, b.ts - t),
  };
  const heading = a.heading !== undefined && b.heading !== undefined ? wrap360(a.heading + shortestDelta(a.heading, b.heading) * k) : (a.heading ?? b.heading);
  if (heading !== undefined) p.heading = heading;
  const speed = a.speed !== undefined && b.speed !== undefined ? a.speed + (b.speed - a.speed) * k : (a.speed ?? b.speed);
  if (speed !== undefined) p.speed = speed;
  return p;
}

/** Signed smallest angle from `from` to `to`, in (-180, 180]. */
function shortestDelta(from: number, to: number): number {
  const d = (((to - from) % 360) + 540) % 360 - 180;
  return d === -180 ? 180 : d;
}

function wrap360(x: number): number {
  const r = ((x % 360) + 360) % 360;
  return r === 360 ? 0 : r;
}

function wrap180(x: number): number {
  if (x >= -180 && x <= 180) return x;
  return wrap360(x + 180) - 180;
}

function sec(ms: number): string {
  return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 3)} s`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
