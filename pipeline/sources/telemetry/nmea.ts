import type { GeoFix } from '../../../core/types.js';
import { parseAllLines, type TelemetryLineParser, type TelemetryLineResult, type TelemetryParseResult } from './track.js';

const KNOT_MS = 1852 / 3600;
const DAY_MS = 86_400_000;
/** RMC and GGA of one epoch arrive within a few lines of each other; a handful of epochs is plenty to merge them. */
const MERGE_WINDOW = 8;

export interface NmeaParserOptions {
  /**
   * Reject sentences without a `*hh` checksum (default true). Receivers always send one; a line without it is
   * hand-edited or torn, and a torn coordinate would put a ticket on the wrong street.
   */
  requireChecksum?: boolean;
}

/** XOR of every character between `$` and `*`, as two upper-case hex digits. */
export function nmeaChecksum(body: string): string {
  let x = 0;
  for (let i = 0; i < body.length; i++) x ^= body.charCodeAt(i);
  return x.toString(16).toUpperCase().padStart(2, '0');
}

/** `ddmm.mmmm` (latitude) or `dddmm.mmmm` (longitude) plus hemisphere → signed decimal degrees. */
export function nmeaCoordToDegrees(value: string, hemisphere: string, axis: 'lat' | 'lon'): number {
  const m = /^(\d{1,3})(\d{2}(?:\.\d+)?)$/.exec(value);
  if (!m) throw new Error(`${axis} "${value}" is not ${axis === 'lat' ? 'ddmm.mmmm' : 'dddmm.mmmm'}`);
  const deg = Number(m[1]);
  const min = Number(m[2]);
  if (min >= 60) throw new Error(`${axis} "${value}" has ${min} minutes (must be < 60)`);
  const abs = deg + min / 60;
  const limit = axis === 'lat' ? 90 : 180;
  if (abs > limit) throw new Error(`${axis} "${value}" is ${abs.toFixed(6)}° (must be <= ${limit})`);
  const hemis: Record<string, number> = axis === 'lat' ? { N: 1, S: -1 } : { E: 1, W: -1 };
  const sign = hemis[hemisphere];
  if (sign === undefined) throw new Error(`${axis} hemisphere "${hemisphere}" is not ${Object.keys(hemis).join('/')}`);
  return sign * abs;
}

/** `hhmmss(.sss)` → ms since UTC midnight. */
function parseTimeOfDay(s: string): number {
  const m = /^(\d{2})(\d{2})(\d{2}(?:\.\d+)?)$/.exec(s);
  if (!m) throw new Error(`time "${s}" is not hhmmss.ss`);
  const h = Number(m[1]);
  const min = Number(m[2]);
  const sec = Number(m[3]);
  if (h > 23 || min > 59 || sec >= 61) throw new Error(`time "${s}" is out of range`);
  return Math.round(((h * 60 + min) * 60 + sec) * 1000);
}

/** `ddmmyy` → ms of that UTC midnight. Two-digit years: 80–99 are 19xx, the rest 20xx. */
function parseDate(s: string): number {
  const m = /^(\d{2})(\d{2})(\d{2})$/.exec(s);
  if (!m) throw new Error(`date "${s}" is not ddmmyy`);
  const d = Number(m[1]);
  const mo = Number(m[2]);
  const yy = Number(m[3]);
  const y = yy >= 80 ? 1900 + yy : 2000 + yy;
  const ms = Date.UTC(y, mo - 1, d);
  const check = new Date(ms);
  if (mo < 1 || mo > 12 || check.getUTCDate() !== d || check.getUTCMonth() !== mo - 1) throw new Error(`date "${s}" is not a calendar date`);
  return ms;
}

function parseOptionalNumber(s: string | undefined, what: string): number | undefined {
  if (s === undefined || s === '') return undefined;
  const n = Number(s);
  if (!Number.isFinite(n) || !/^[-+]?\d*\.?\d+$/.test(s)) throw new Error(`${what} "${s}" is not a number`);
  return n;
}

type Sentence = { kind: 'fix'; fix: Omit<GeoFix, 'ts'> } | { kind: 'no_fix' };

/**
 * Incremental NMEA 0183 parser for RMC and GGA from any talker (GP, GN, BD, GB, GL, GA, …).
 *
 * GGA has no date: it is placed on the day of the most recent dated sentence, picking the day that puts it nearest
 * to that sentence, so a GGA at 00:00:00 after an RMC at 23:59:59 lands on the next day.
 * An RMC and a GGA with the same timestamp are merged (the result says `merged`); if either says "no fix", the
 * epoch is no-fix: a receiver contradicting itself is not a position to enforce on.
 */
export class NmeaParser implements TelemetryLineParser {
  private readonly requireChecksum: boolean;
  /** Timestamp of the most recent placed sentence; its UTC day dates the next GGA. Undefined until the first RMC. */
  private refMs: number | undefined;
  /** Latest timestamp read from a sentence; an untimed "no fix" sentence is placed just after it. */
  private lastMs: number | undefined;
  private readonly epochs = new Map<number, GeoFix | null>();
  /** Sentences of other types seen, by type (GSV, VTG, …). */
  readonly ignoredTypes = new Map<string, number>();

  constructor(opts: NmeaParserOptions = {}) {
    this.requireChecksum = opts.requireChecksum ?? true;
  }

  /** Forgets date context and pending epochs, for a new file (rotation) that may start on another day. */
  reset(): void {
    this.refMs = undefined;
    this.lastMs = undefined;
    this.epochs.clear();
  }

  push(rawLine: string, lineNo: number): TelemetryLineResult | undefined {
    const line = rawLine.replace(/^\uFEFF/, '').trim();
    if (line === '') return undefined;
    const err = (message: string): TelemetryLineResult => ({ kind: 'error', line: lineNo, message });
    if (line[0] !== '$') return err(`not an NMEA sentence (does not start with "$"): ${preview(line)}`);

    const star = line.lastIndexOf('*');
    let body: string;
    if (star < 0) {
      if (this.requireChecksum) return err('missing checksum (*hh)');
      body = line.slice(1);
    } else {
      body = line.slice(1, star);
      const given = line.slice(star + 1);
      if (!/^[0-9A-Fa-f]{2}$/.test(given)) return err(`malformed checksum "*${given}"`);
      const want = nmeaChecksum(body);
      if (given.toUpperCase() !== want) return err(`bad checksum: *${given.toUpperCase()} given, *${want} computed`);
    }

    const f = body.split(',');
    const address = f[0]!;
    if (!/^[A-Z0-9]{3,}$/.test(address)) return err(`malformed sentence address "${preview(address)}"`);
    const type = address.length === 5 && address[0] !== 'P' ? address.slice(2) : '';
    try {
      if (type === 'RMC') return this.rmc(f);
      if (type === 'GGA') return this.gga(f);
    } catch (e) {
      return err(`${address}: ${(e as Error).message}`);
    }
    const key = type || address;
    this.ignoredTypes.set(key, (this.ignoredTypes.get(key) ?? 0) + 1);
    return { kind: 'ignored' };
  }

  // $xxRMC,hhmmss.ss,A,llll.ll,a,yyyyy.yy,a,speed-kn,course,ddmmyy,magvar,E/W[,mode[,navstatus]]
  private rmc(f: string[]): TelemetryLineResult {
    const time = f[1] ?? '';
    const status = f[2] ?? '';
    const date = f[9] ?? '';
    if (status !== 'A' && status !== 'V') throw new Error(`status "${status}" is not A or V`);
    // Mode indicator N (NMEA 2.3+) means "data not valid" even when a sloppy receiver says A.
    const mode = f[12];
    const valid = status === 'A' && mode !== 'N';

    let ts: number | undefined;
    if (time !== '' && date !== '') {
      ts = parseDate(date) + parseTimeOfDay(time);
      this.refMs = ts;
    } else if (valid) {
      throw new Error(time === '' ? 'status A without a time' : 'status A without a date');
    } else if (time !== '') {
      ts = this.placeTimeOfDay(parseTimeOfDay(time));
    }
    if (!valid) return this.emit(ts, { kind: 'no_fix' });

    const lat = nmeaCoordToDegrees(f[3] ?? '', f[4] ?? '', 'lat');
    const lon = nmeaCoordToDegrees(f[5] ?? '', f[6] ?? '', 'lon');
    const knots = parseOptionalNumber(f[7], 'speed');
    const course = parseOptionalNumber(f[8], 'course');
    if (knots !== undefined && knots < 0) throw new Error(`speed "${f[7]}" is negative`);
    const fix: Omit<GeoFix, 'ts'> = { lat, lon };
    if (knots !== undefined) fix.speed = knots * KNOT_MS;
    if (course !== undefined) fix.heading = ((course % 360) + 360) % 360;
    return this.emit(ts, { kind: 'fix', fix });
  }

  // $xxGGA,hhmmss.ss,llll.ll,a,yyyyy.yy,a,quality,sats,hdop,alt,M,geoid,M,age,station
  private gga(f: string[]): TelemetryLineResult {
    const time = f[1] ?? '';
    const qs = f[6] ?? '';
    if (!/^\d$/.test(qs)) throw new Error(`fix quality "${qs}" is not a digit`);
    const quality = Number(qs);
    let ts: number | undefined;
    if (time !== '') {
      const tod = parseTimeOfDay(time);
      ts = this.placeTimeOfDay(tod);
      if (ts === undefined && quality !== 0) throw new Error(`time ${time} cannot be dated: no RMC (with a date) before it`);
    } else if (quality !== 0) {
      throw new Error('fix without a time');
    }
    if (quality === 0) return this.emit(ts, { kind: 'no_fix' });
    const lat = nmeaCoordToDegrees(f[2] ?? '', f[3] ?? '', 'lat');
    const lon = nmeaCoordToDegrees(f[4] ?? '', f[5] ?? '', 'lon');
    return this.emit(ts, { kind: 'fix', fix: { lat, lon } });
  }

  /** Date for an undated time of day: the day of the reference that puts it nearest the reference. */
  private placeTimeOfDay(tod: number): number | undefined {
    if (this.refMs === undefined) return undefined;
    let ts = Math.floor(this.refMs / DAY_MS) * DAY_MS + tod;
    if (ts - this.refMs > DAY_MS / 2) ts -= DAY_MS;
    else if (this.refMs - ts > DAY_MS / 2) ts += DAY_MS;
    this.refMs = ts;
    return ts;
  }

  private emit(ts: number | undefined, s: Sentence): TelemetryLineResult {
    if (ts === undefined) {
      // Receivers with no fix often have no time either ("$GPRMC,,V,,,,,,,,,,N"). The statement still came after
      // the last timed sentence, so it is placed 1 ms after it: that keeps the outage between the fixes around it.
      // lastMs is not advanced, so a receiver repeating it every second yields one mark, not a creeping series.
      if (this.lastMs === undefined) return { kind: 'ignored' };
      ts = this.lastMs + 1;
    } else {
      this.lastMs = this.lastMs === undefined ? ts : Math.max(this.lastMs, ts);
    }
    const had = this.epochs.has(ts);
    const prev = this.epochs.get(ts);
    let out: GeoFix | null;
    if (s.kind === 'no_fix' || prev === null) out = null;
    // GGA carries no speed/course, so those survive from the RMC; lat/lon come from the latest sentence.
    else out = { ...prev, ...s.fix, ts };
    this.epochs.delete(ts);
    this.epochs.set(ts, out);
    if (this.epochs.size > MERGE_WINDOW) this.epochs.delete(this.epochs.keys().next().value!);
    return out === null ? { kind: 'no_fix', ts, merged: had } : { kind: 'fix', fix: out, merged: had };
  }
}

/** Parses a whole NMEA text. A later sentence for the same timestamp supersedes (merges into) an earlier one. */
export function parseNmea(text: string, opts: NmeaParserOptions = {}): TelemetryParseResult {
  return parseAllLines(new NmeaParser(opts), text);
}

function preview(s: string): string {
  return s.length > 40 ? `${JSON.stringify(s.slice(0, 40))}…` : JSON.stringify(s);
}
