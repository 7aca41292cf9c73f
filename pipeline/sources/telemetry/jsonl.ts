import { z } from 'zod';
import type { GeoFix } from '../../../core/types.js';
import { parseAllLines, type TelemetryLineParser, type TelemetryLineResult, type TelemetryParseResult } from './track.js';

/**
 * One JSON line. `lat` and `lon` both null is an explicit "no fix at ts" (a logger that keeps writing during an
 * outage); unknown extra fields are allowed because loggers add their own (sats, hdop, …).
 */
const lineSchema = z.object({
  ts: z.union([z.number(), z.string()], { error: 'ts must be epoch seconds, epoch ms or an ISO 8601 string' }),
  lat: z.number().min(-90).max(90).nullable(),
  lon: z.number().min(-180).max(180).nullable(),
  heading: z.number().min(0).max(360).nullish(),
  speed: z.number().min(0).nullish(),
});

const isoWithOffset = z.iso.datetime({ offset: true });
const isoLocal = z.iso.datetime({ local: true });

/** Numbers below this are epoch seconds (1e11 s is year 5138; 1e11 ms is 1973). */
const SECONDS_LIMIT = 1e11;
/** Above this an epoch value is microseconds or nanoseconds, a frequent logger mistake worth naming. */
const MS_LIMIT = 1e14;

/** Epoch seconds, epoch ms, or ISO 8601 with an offset → epoch ms. Throws with a reason. */
export function parseJsonlTs(ts: number | string): number {
  if (typeof ts === 'number') {
    if (!Number.isFinite(ts) || ts <= 0) throw new Error(`ts ${ts} is not a positive epoch time`);
    if (ts < SECONDS_LIMIT) return Math.round(ts * 1000);
    if (ts < MS_LIMIT) return Math.round(ts);
    throw new Error(`ts ${ts} is too large for epoch ms (microseconds or nanoseconds?)`);
  }
  if (isoWithOffset.safeParse(ts).success) return Date.parse(ts);
  // A time without offset is ambiguous (a vehicle logger in China writes +08:00 local time, ffmpeg uses UTC).
  if (isoLocal.safeParse(ts).success) throw new Error(`ts "${ts}" has no UTC offset (add Z or +08:00)`);
  throw new Error(`ts "${ts.length > 40 ? `${ts.slice(0, 40)}…` : ts}" is not ISO 8601 with an offset`);
}

/** Parser for JSON lines `{ts, lat, lon, heading?, speed?}`; stateless, as every line stands on its own. */
export class JsonlParser implements TelemetryLineParser {
  push(rawLine: string, lineNo: number): TelemetryLineResult | undefined {
    const line = rawLine.replace(/^\uFEFF/, '').trim();
    if (line === '') return undefined;
    const err = (message: string): TelemetryLineResult => ({ kind: 'error', line: lineNo, message });
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      return err(`not valid JSON (${(e as Error).message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return err('not a JSON object');
    const parsed = lineSchema.safeParse(value);
    if (!parsed.success) {
      return err(parsed.error.issues.map((i) => `${i.path.join('.') || '(line)'}: ${i.message}`).join('; '));
    }
    const v = parsed.data;
    let ts: number;
    try {
      ts = parseJsonlTs(v.ts);
    } catch (e) {
      return err((e as Error).message);
    }
    if (v.lat === null && v.lon === null) return { kind: 'no_fix', ts, merged: false };
    if (v.lat === null || v.lon === null) return err(`${v.lat === null ? 'lat' : 'lon'} is null but ${v.lat === null ? 'lon' : 'lat'} is not (both null means no fix)`);
    const fix: GeoFix = { ts, lat: v.lat, lon: v.lon };
    if (v.heading != null) fix.heading = v.heading === 360 ? 0 : v.heading;
    if (v.speed != null) fix.speed = v.speed;
    return { kind: 'fix', fix, merged: false };
  }
}

/** Parses a whole JSON-lines text. A later line for the same timestamp supersedes an earlier one. */
export function parseJsonl(text: string): TelemetryParseResult {
  return parseAllLines(new JsonlParser(), text);
}

/**
 * Which format a file is, by the first non-blank lines: NMEA sentences start with `$`, JSON lines with `{`.
 * Undefined when there is nothing to decide on yet (empty or blank) or neither kind of line appears.
 */
export function sniffTelemetryFormat(chunk: string): 'nmea' | 'jsonl' | undefined {
  let nmea = 0;
  let jsonl = 0;
  let seen = 0;
  for (const raw of chunk.replace(/^\uFEFF/, '').split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line[0] === '$') nmea++;
    else if (line[0] === '{') jsonl++;
    if (++seen >= 20) break;
  }
  if (nmea === 0 && jsonl === 0) return undefined;
  return jsonl > nmea ? 'jsonl' : 'nmea';
}

/**
 * `sniffTelemetryFormat`, defaulting to NMEA when undecidable: the NMEA parser then reports every line with its
 * reason, which is the most useful outcome for a file that is neither.
 */
export function detectTelemetryFormat(firstChunk: string): 'nmea' | 'jsonl' {
  return sniffTelemetryFormat(firstChunk) ?? 'nmea';
}
