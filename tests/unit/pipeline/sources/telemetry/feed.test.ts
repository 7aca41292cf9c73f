import { appendFile, mkdir, mkdtemp, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isStreetwatchError, type StreetwatchError } from '../../../../../core/errors.js';
import { createLogger, type Logger } from '../../../../../core/log.js';
import { TelemetryFeed, type TelemetryFeedOptions } from '../../../../../pipeline/sources/telemetry/feed.js';
import { TelemetryTrack } from '../../../../../pipeline/sources/telemetry/track.js';
import {
  appendJsonlFile,
  appendNmeaFile,
  distanceM,
  jsonlLines,
  nmeaLines,
  nmeaSentence,
  straightRoute,
  writeJsonlFile,
  writeNmeaFile,
} from '../../../../helpers/fixtures/telemetry.js';
import { sleep, waitFor } from '../../../../helpers/wait.js';

const T = Date.UTC(2024, 4, 1, 0, 0, 0);
const FROM = { lat: 31.2304, lon: 121.4737 };
const TO = { lat: 31.2404, lon: 121.4837 };
/** 0..20 s, one fix per second. */
const ROUTE = straightRoute(T, 20, 1, FROM, TO);
const FIRST = ROUTE.slice(0, 11); // 0..10 s
const REST = ROUTE.slice(11); // 11..20 s

let dir: string;
let feeds: TelemetryFeed[];
let logLines: Record<string, unknown>[];
let logger: Logger;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sw-telemetry-'));
  feeds = [];
  logLines = [];
  logger = createLogger({ level: 'debug', destination: { write: (s: string) => void logLines.push(JSON.parse(s)) } });
});

afterEach(async () => {
  await Promise.all(feeds.map((f) => f.stop()));
  await rm(dir, { recursive: true, force: true });
});

function feed(path: string, opts: Partial<TelemetryFeedOptions> = {}): TelemetryFeed {
  const f = new TelemetryFeed({ path, format: 'auto', cameraId: 'patrol-07', log: logger, pollMs: 10, ...opts });
  feeds.push(f);
  return f;
}

/** The feed polls every 10 ms here: look as often, so a test does not sit out a whole step after the change. */
const until = (cond: () => boolean, what: string) => waitFor(cond, 3000, what, { everyMs: 5 });

async function startError(f: TelemetryFeed): Promise<StreetwatchError> {
  const e = await f.start().then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isStreetwatchError(e)) throw new Error(`expected a StreetwatchError, got ${String(e)}`);
  return e;
}

const warnings = () => logLines.filter((l) => l.level === 40);

describe('TelemetryFeed: reading and following', () => {
  it.each([
    ['NMEA', 'gps.nmea', writeNmeaFile, appendNmeaFile, 'nmea'],
    ['JSON lines', 'gps.jsonl', writeJsonlFile, appendJsonlFile, 'jsonl'],
  ] as const)('%s: reads the file, then appended fixes become visible', async (_n, name, write, append, format) => {
    const path = join(dir, name);
    await write(path, FIRST);
    const f = feed(path);
    await f.start();
    expect(f.resolvedFormat).toBe(format);
    expect(f.stats()).toMatchObject({ fixes: 11, errors: 0 });
    expect(f.firstFixMs()).toBe(T);
    const mid = f.positionAt(T + 5500, 2000);
    expect(mid.status).toBe('fix');
    expect(f.positionAt(T + 15_000, 2000)).toMatchObject({ status: 'no_fix', reason: expect.stringMatching(/after the last fix/) });

    await append(path, REST);
    await until(() => f.stats().fixes === ROUTE.length, 'appended fixes');
    const p = f.positionAt(T + 15_500, 2000);
    if (p.status !== 'fix') throw new Error(p.reason);
    const want = { lat: (ROUTE[15]!.lat + ROUTE[16]!.lat) / 2, lon: (ROUTE[15]!.lon + ROUTE[16]!.lon) / 2 };
    expect(distanceM(p, want)).toBeLessThan(0.05);
    expect(p.gapMs).toBe(500);
    expect(f.track.size).toBe(ROUTE.length);
  });

  it('counts lines, merged RMC+GGA epochs once, and other sentences as ignored', async () => {
    const path = join(dir, 'gps.nmea');
    const gsv = nmeaSentence('GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00');
    await writeFile(path, [...nmeaLines(FIRST), gsv, gsv].join('\r\n') + '\r\n');
    const f = feed(path);
    await f.start();
    expect(f.stats()).toEqual({ lines: 2 * FIRST.length + 2, fixes: FIRST.length, noFix: 0, errors: 0, ignored: 2 });
  });

  it('waits for the rest of a half-written line instead of misreading it', async () => {
    const path = join(dir, 'gps.nmea');
    await writeNmeaFile(path, FIRST);
    const f = feed(path);
    await f.start();
    const next = nmeaLines([ROUTE[11]!], { sentences: ['RMC'] })[0]!;
    await appendFile(path, next.slice(0, 30));
    await sleep(60);
    expect(f.stats()).toMatchObject({ fixes: 11, errors: 0 });
    await appendFile(path, `${next.slice(30)}\r\n`);
    await until(() => f.stats().fixes === 12, 'the completed line');
    expect(f.stats().errors).toBe(0);
    expect(f.track.range()?.lastMs).toBe(ROUTE[11]!.ts);
  });

  it('reads a complete last line without a newline, and keeps line numbers right when the newline follows', async () => {
    const path = join(dir, 'gps.jsonl');
    await writeFile(path, jsonlLines(FIRST).join('\n')); // no final newline
    const f = feed(path);
    await f.start();
    expect(f.stats()).toMatchObject({ fixes: 11, lines: 11 });
    await appendFile(path, `\n${jsonlLines([ROUTE[11]!])[0]}\nnot json\n`);
    await until(() => f.stats().errors === 1, 'the bad line');
    expect(f.stats()).toMatchObject({ fixes: 12, lines: 13 });
    expect(warnings()[0]).toMatchObject({ line: 13, msg: expect.stringContaining(`${path}:13: not valid JSON`) });
  });

  it('restarts from the beginning when the file is truncated', async () => {
    const path = join(dir, 'gps.nmea');
    await writeNmeaFile(path, ROUTE);
    const f = feed(path);
    await f.start();
    expect(f.stats().fixes).toBe(21);
    // copytruncate-style rotation: same file, emptied, then written again with later fixes.
    const later = straightRoute(T + 60_000, 3, 1, TO, FROM);
    await truncate(path, 0);
    await until(() => logLines.some((l) => l.msg === 'telemetry file was truncated or replaced; reading it from the start'), 'truncation');
    await appendNmeaFile(path, later);
    await until(() => f.stats().fixes === 25, 'fixes after truncation');
    expect(f.positionAt(T + 61_000, 2000)).toMatchObject({ status: 'fix', gapMs: 0 });
  });

  it('follows a rotated (renamed and recreated) file from its start, with a fresh NMEA date', async () => {
    const path = join(dir, 'gps.nmea');
    await writeNmeaFile(path, ROUTE);
    const f = feed(path, { format: 'nmea' });
    await f.start();
    await rename(path, join(dir, 'gps.nmea.1'));
    // The new file starts with a GGA: with the old date carried over it would be placed; fresh, it must be reported.
    const nextDay = straightRoute(T + 86_400_000 + 3_600_000, 2, 1, FROM, TO);
    const lines = [...nmeaLines([nextDay[0]!], { sentences: ['GGA'] }), ...nmeaLines(nextDay.slice(1), { sentences: ['RMC'] })];
    // Larger than the old file's read offset would make a size-only check miss the replacement; the inode catches it.
    await writeFile(path, lines.join('\r\n') + '\r\n' + '\r\n'.repeat(4000));
    await until(() => f.stats().fixes === 23, 'fixes from the new file');
    expect(f.stats().errors).toBe(1);
    expect(warnings().at(-1)).toMatchObject({ line: 1, reason: expect.stringMatching(/cannot be dated/) });
    expect(f.positionAt(nextDay[1]!.ts, 2000)).toMatchObject({ status: 'fix', gapMs: 0 });
  });

  it('survives the file disappearing for a while: warns once, then reads the new file from its start', async () => {
    const path = join(dir, 'gps.nmea');
    await writeNmeaFile(path, FIRST);
    const f = feed(path);
    await f.start();
    await rm(path);
    const missing = () => warnings().filter((w) => String(w.msg).includes('cannot be read (ENOENT)'));
    await until(() => missing().length > 0, 'the missing-file warning');
    await sleep(80); // several more failed polls
    expect(missing()).toHaveLength(1);
    await writeJsonlFile(path, REST);
    await until(() => f.stats().fixes === ROUTE.length, 'fixes from the recreated file');
    expect(f.resolvedFormat).toBe('jsonl');
    await until(() => logLines.some((l) => l.msg === 'telemetry file readable again'), 'the recovery log line');
  });

  it('an empty file is fine at start; its format is detected when lines arrive', async () => {
    const path = join(dir, 'gps.log');
    await writeFile(path, '');
    const f = feed(path);
    await f.start();
    expect(f.resolvedFormat).toBeUndefined();
    expect(f.positionAt(T, 2000)).toEqual({ status: 'no_fix', reason: 'no GPS fix received yet' });
    await appendJsonlFile(path, FIRST, { ts: 'iso' });
    await until(() => f.stats().fixes === 11, 'fixes in the once-empty file');
    expect(f.resolvedFormat).toBe('jsonl');
  });

  it('keeps going past bad lines, logging the first and then one in N with file:line', async () => {
    const path = join(dir, 'gps.jsonl');
    const bad = Array.from({ length: 250 }, (_, i) => `bad ${i}`);
    await writeFile(path, [...jsonlLines(FIRST), ...bad].join('\n') + '\n');
    const f = feed(path, { logEvery: 100 });
    await f.start();
    expect(f.stats()).toMatchObject({ fixes: 11, errors: 250 });
    const w = warnings();
    expect(w.map((l) => l.line)).toEqual([12, 111, 211]);
    expect(w[0]).toMatchObject({ camera: 'patrol-07', file: path, msg: expect.stringMatching(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:12: not valid JSON`)) });
  });

  it('treats a fix dated more than a day ahead as an error, not as the newest fix', async () => {
    const path = join(dir, 'gps.jsonl');
    await writeJsonlFile(path, [...FIRST, { ts: Date.now() + 3 * 86_400_000, lat: 31, lon: 121 }]);
    const f = feed(path);
    await f.start();
    expect(f.stats()).toMatchObject({ fixes: 11, errors: 1 });
    expect(f.track.range()?.lastMs).toBe(FIRST.at(-1)!.ts);
  });

  it('reports an overlong line once and resumes at the next line', async () => {
    const path = join(dir, 'gps.jsonl');
    await writeFile(path, `${jsonlLines(FIRST).join('\n')}\n${'x'.repeat(200_000)}\n${jsonlLines(REST).join('\n')}\n`);
    const f = feed(path, { format: 'jsonl' });
    await f.start();
    expect(f.stats()).toMatchObject({ fixes: 21, errors: 1, lines: 22 });
    expect(warnings()[0]).toMatchObject({ line: 12, reason: expect.stringMatching(/longer than 65536 bytes/) });
  });

  it('does not buffer an endless unterminated line: reports it and drops it up to its newline', async () => {
    const path = join(dir, 'gps.jsonl');
    await writeFile(path, `${jsonlLines(FIRST).join('\n')}\n${'x'.repeat(200_000)}`);
    const f = feed(path, { format: 'jsonl', logEvery: 1 });
    await f.start();
    expect(f.stats()).toMatchObject({ fixes: 11, errors: 1 });
    await appendFile(path, 'y'.repeat(100_000));
    await sleep(40);
    await appendFile(path, `zzz\n${jsonlLines(REST).join('\n')}\n`);
    await until(() => f.stats().fixes === 21, 'fixes after the overlong line');
    expect(f.stats()).toMatchObject({ errors: 1, lines: 22 });
    expect(warnings().map((w) => w.line)).toEqual([12]);
    // Line numbering continues after the dropped line: the next bad line is 23.
    await appendFile(path, 'oops\n');
    await until(() => f.stats().errors === 2, 'the bad line');
    expect(warnings().map((w) => w.line)).toEqual([12, 23]);
  });

  it('uses the track it is given, and stop() is idempotent and stops following', async () => {
    const path = join(dir, 'gps.nmea');
    await writeNmeaFile(path, FIRST);
    const track = new TelemetryTrack({ maxFixes: 5 });
    const f = feed(path, { track });
    await f.start();
    expect(f.track).toBe(track);
    expect(track.size).toBe(5);
    const a = f.stop();
    const b = f.stop();
    expect(b).toBe(a);
    await a;
    await appendNmeaFile(path, REST);
    await sleep(60);
    expect(f.stats().fixes).toBe(11);
    await expect(f.start()).rejects.toMatchObject({ code: 'STOPPED' });
  });
});

describe('TelemetryFeed: failures', () => {
  it('a missing file is TELEMETRY_NOT_FOUND naming the camera, the path and what to check', async () => {
    const path = join(dir, 'nope.nmea');
    const e = await startError(feed(path));
    expect(e.code).toBe('TELEMETRY_NOT_FOUND');
    expect(e.message).toContain('patrol-07');
    expect(e.message).toContain(path);
    expect(e.message).toMatch(/does not exist; check telemetry\.path/);
    expect(e.details).toMatchObject({ cameraId: 'patrol-07', path });
  });

  it('a directory is TELEMETRY_NOT_FOUND too', async () => {
    const path = join(dir, 'sub');
    await mkdir(path);
    const e = await startError(feed(path));
    expect(e.code).toBe('TELEMETRY_NOT_FOUND');
    expect(e.message).toMatch(/not a regular file/);
  });

  it('an all-garbage file is TELEMETRY_INVALID with the first errors and the expected format', async () => {
    const path = join(dir, 'gps.txt');
    await writeFile(path, 'hello\nworld\n\nthis is not telemetry\n');
    const e = await startError(feed(path));
    expect(e.code).toBe('TELEMETRY_INVALID');
    expect(e.message).toContain(path);
    expect(e.message).toContain('patrol-07');
    expect(e.message).toMatch(/line 1: not an NMEA sentence.*line 2: not an NMEA sentence.*line 4: not an NMEA sentence/);
    expect(e.message).toMatch(/Expected NMEA 0183 RMC\/GGA/);
    expect(e.message).toMatch(/found neither/);
    expect(e.details).toMatchObject({ format: 'nmea', errors: [{ line: 1 }, { line: 2 }, { line: 4 }] });
  });

  it('NMEA read as JSON lines (wrong format setting) is TELEMETRY_INVALID saying so', async () => {
    const path = join(dir, 'gps.nmea');
    await writeNmeaFile(path, FIRST);
    const e = await startError(feed(path, { format: 'jsonl' }));
    expect(e.code).toBe('TELEMETRY_INVALID');
    expect(e.message).toMatch(/Expected JSON lines/);
    expect(e.message).toMatch(/telemetry\.format is "jsonl"/);
  });

  it('NMEA whose every checksum is wrong is TELEMETRY_INVALID, listing at most five errors', async () => {
    const path = join(dir, 'gps.nmea');
    const lines = nmeaLines(FIRST).map((l) => l.replace(/\*[0-9A-F]{2}$/, '*00'));
    await writeFile(path, lines.join('\r\n') + '\r\n');
    const e = await startError(feed(path));
    expect(e.code).toBe('TELEMETRY_INVALID');
    expect(e.message).toMatch(/22 bad line\(s\)/);
    expect(e.message).toMatch(/line 1: bad checksum.*line 5: bad checksum/);
    expect(e.message).not.toMatch(/line 6:/);
    expect(e.message).toMatch(/auto" detected nmea/);
  });

  it('a file with only no-fix sentences is valid (the receiver is searching), not TELEMETRY_INVALID', async () => {
    const path = join(dir, 'gps.nmea');
    await writeFile(path, `${nmeaSentence('GPRMC,083600.00,V,,,,,,,010524,,,N')}\r\n`);
    const f = feed(path);
    await f.start();
    expect(f.stats()).toMatchObject({ fixes: 0, noFix: 1, errors: 0 });
    expect(f.positionAt(T, 2000)).toMatchObject({ status: 'no_fix', reason: expect.stringMatching(/no fix so far/) });
  });
});
