import { haversineMeters } from '../../core/geo.js';
/**
 * Synthetic GPS telemetry for tests: routes, and NMEA / JSON-lines sidecar files written from them.
 * The NMEA encoding here is written independently of pipeline/sources/telemetry so a parser bug cannot be mirrored
 * by the fixture and go unnoticed.
 */
import { appendFile, writeFile } from 'node:fs/promises';
import type { GeoFix } from '../../core/types.js';

export interface LatLon {
  lat: number;
  lon: number;
}

const KNOT_MS = 1852 / 3600;

/** Great-circle distance in metres. */
export const distanceM = (a: LatLon, b: LatLon): number => haversineMeters(a, b);

/** Initial bearing from a to b, degrees clockwise from north in [0, 360). */
export function bearingDeg(a: LatLon, b: LatLon): number {
  const rad = Math.PI / 180;
  const y = Math.sin((b.lon - a.lon) * rad) * Math.cos(b.lat * rad);
  const x = Math.cos(a.lat * rad) * Math.sin(b.lat * rad) - Math.sin(a.lat * rad) * Math.cos(b.lat * rad) * Math.cos((b.lon - a.lon) * rad);
  return ((Math.atan2(y, x) / rad) % 360 + 360) % 360;
}

/**
 * A vehicle driving at constant speed from `from` to `to` in `seconds`, one fix every `stepSec` starting at
 * `startMs` (both ends included when `seconds` is a multiple of `stepSec`). Heading and speed are set from the route.
 */
export function straightRoute(startMs: number, seconds: number, stepSec: number, from: LatLon, to: LatLon): GeoFix[] {
  if (!(stepSec > 0) || !(seconds >= 0)) throw new RangeError('straightRoute: stepSec must be > 0 and seconds >= 0');
  const n = Math.floor(seconds / stepSec + 1e-9) + 1;
  const speed = seconds > 0 ? distanceM(from, to) / seconds : 0;
  const heading = bearingDeg(from, to);
  const fixes: GeoFix[] = [];
  for (let i = 0; i < n; i++) {
    const t = i * stepSec;
    const k = seconds > 0 ? t / seconds : 0;
    fixes.push({
      ts: startMs + Math.round(t * 1000),
      lat: from.lat + (to.lat - from.lat) * k,
      lon: from.lon + (to.lon - from.lon) * k,
      heading,
      speed,
    });
  }
  return fixes;
}

/** `$body*hh` with the XOR checksum of body. */
export function nmeaSentence(body: string): string {
  let cs = 0;
  for (const ch of body) cs ^= ch.charCodeAt(0);
  return `$${body}*${cs.toString(16).toUpperCase().padStart(2, '0')}`;
}

function coord(value: number, degDigits: number): string {
  const abs = Math.abs(value);
  let deg = Math.floor(abs);
  let min = Number(((abs - deg) * 60).toFixed(5));
  if (min >= 60) {
    deg += 1;
    min = 0;
  }
  return `${String(deg).padStart(degDigits, '0')}${min.toFixed(5).padStart(8, '0')}`;
}

function nmeaTime(ts: number): string {
  const d = new Date(ts);
  const hms = [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()].map((x) => String(x).padStart(2, '0')).join('');
  const ms = d.getUTCMilliseconds();
  return ms % 10 === 0 ? `${hms}.${String(ms / 10).padStart(2, '0')}` : `${hms}.${String(ms).padStart(3, '0')}`;
}

function nmeaDate(ts: number): string {
  const d = new Date(ts);
  return [d.getUTCDate(), d.getUTCMonth() + 1, d.getUTCFullYear() % 100].map((x) => String(x).padStart(2, '0')).join('');
}

export interface NmeaOptions {
  /** Talker id, default GN (multi-constellation, as Beidou+GPS receivers in China report). */
  talker?: string;
  /** Which sentences per fix, in order. Default RMC then GGA (the pair the parser merges). */
  sentences?: ('RMC' | 'GGA')[];
}

/** RMC for a fix; `status: 'V'` writes a no-fix RMC at the fix's time (coordinates left empty, as receivers do). */
export function rmcSentence(fix: GeoFix, opts: { talker?: string; status?: 'A' | 'V' } = {}): string {
  const talker = opts.talker ?? 'GN';
  if (opts.status === 'V') return nmeaSentence(`${talker}RMC,${nmeaTime(fix.ts)},V,,,,,,,${nmeaDate(fix.ts)},,,N`);
  const knots = fix.speed === undefined ? '' : (fix.speed / KNOT_MS).toFixed(3);
  const course = fix.heading === undefined ? '' : fix.heading.toFixed(2);
  return nmeaSentence(
    `${talker}RMC,${nmeaTime(fix.ts)},A,${coord(fix.lat, 2)},${fix.lat < 0 ? 'S' : 'N'},${coord(fix.lon, 3)},${fix.lon < 0 ? 'W' : 'E'},` +
      `${knots},${course},${nmeaDate(fix.ts)},,,A`,
  );
}

/** GGA for a fix; `quality: 0` writes a no-fix GGA at the fix's time. */
export function ggaSentence(fix: GeoFix, opts: { talker?: string; quality?: number } = {}): string {
  const talker = opts.talker ?? 'GN';
  const q = opts.quality ?? 1;
  if (q === 0) return nmeaSentence(`${talker}GGA,${nmeaTime(fix.ts)},,,,,0,00,99.99,,,,,,`);
  return nmeaSentence(
    `${talker}GGA,${nmeaTime(fix.ts)},${coord(fix.lat, 2)},${fix.lat < 0 ? 'S' : 'N'},${coord(fix.lon, 3)},${fix.lon < 0 ? 'W' : 'E'},` +
      `${q},12,0.8,8.5,M,7.2,M,,`,
  );
}

export function nmeaLines(fixes: readonly GeoFix[], opts: NmeaOptions = {}): string[] {
  const sentences = opts.sentences ?? ['RMC', 'GGA'];
  const out: string[] = [];
  for (const f of fixes) {
    for (const s of sentences) out.push(s === 'RMC' ? rmcSentence(f, { talker: opts.talker }) : ggaSentence(f, { talker: opts.talker }));
  }
  return out;
}

export interface JsonlOptions {
  /** How `ts` is written: epoch ms (default), epoch seconds, or ISO 8601 in China time (+08:00). */
  ts?: 'ms' | 's' | 'iso';
}

function isoChina(ts: number): string {
  const local = new Date(ts + 8 * 3600_000).toISOString().slice(0, -1);
  return `${local}+08:00`;
}

export function jsonlLines(fixes: readonly GeoFix[], opts: JsonlOptions = {}): string[] {
  return fixes.map((f) => {
    const ts = opts.ts === 's' ? f.ts / 1000 : opts.ts === 'iso' ? isoChina(f.ts) : f.ts;
    const o: Record<string, unknown> = { ts, lat: f.lat, lon: f.lon };
    if (f.heading !== undefined) o.heading = f.heading;
    if (f.speed !== undefined) o.speed = f.speed;
    return JSON.stringify(o);
  });
}

const text = (lines: string[], eol: string) => (lines.length ? lines.join(eol) + eol : '');

/** Writes an NMEA sidecar (CRLF line ends, as NMEA 0183 specifies). */
export async function writeNmeaFile(path: string, fixes: readonly GeoFix[], opts: NmeaOptions = {}): Promise<void> {
  await writeFile(path, text(nmeaLines(fixes, opts), '\r\n'));
}

export async function appendNmeaFile(path: string, fixes: readonly GeoFix[], opts: NmeaOptions = {}): Promise<void> {
  await appendFile(path, text(nmeaLines(fixes, opts), '\r\n'));
}

export async function writeJsonlFile(path: string, fixes: readonly GeoFix[], opts: JsonlOptions = {}): Promise<void> {
  await writeFile(path, text(jsonlLines(fixes, opts), '\n'));
}

export async function appendJsonlFile(path: string, fixes: readonly GeoFix[], opts: JsonlOptions = {}): Promise<void> {
  await appendFile(path, text(jsonlLines(fixes, opts), '\n'));
}
