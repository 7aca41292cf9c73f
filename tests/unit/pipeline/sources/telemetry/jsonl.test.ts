import { describe, expect, it } from 'vitest';
import { JsonlParser, detectTelemetryFormat, parseJsonl, parseJsonlTs, sniffTelemetryFormat } from '../../../../../pipeline/sources/telemetry/jsonl.js';
import { jsonlLines, nmeaLines, straightRoute } from '../../../../helpers/fixtures/telemetry.js';

const T = Date.UTC(2024, 4, 1, 0, 0, 0); // 2024-05-01T08:00:00+08:00

describe('ts variants', () => {
  it.each([
    ['epoch ms', T + 123, T + 123],
    ['epoch seconds', T / 1000, T],
    ['fractional epoch seconds', T / 1000 + 0.5, T + 500],
    ['ISO with +08:00', '2024-05-01T08:00:00+08:00', T],
    ['ISO with Z and ms', '2024-05-01T00:00:00.250Z', T + 250],
    ['ISO with -05:00', '2024-04-30T19:00:00-05:00', T],
  ] as const)('%s', (_n, ts, want) => {
    expect(parseJsonlTs(ts)).toBe(want);
    expect(parseJsonl(JSON.stringify({ ts, lat: 31.2, lon: 121.4 })).fixes[0]!.ts).toBe(want);
  });

  it.each([
    ['ISO without offset', '2024-05-01T08:00:00', /no UTC offset/],
    ['date only', '2024-05-01', /not ISO 8601 with an offset/],
    ['words', 'yesterday', /not ISO 8601/],
    ['microseconds', T * 1000, /microseconds/],
    ['negative', -5, /not a positive epoch/],
    ['zero', 0, /not a positive epoch/],
  ] as const)('rejects %s', (_n, ts, msg) => {
    expect(() => parseJsonlTs(ts)).toThrow(msg);
    const r = parseJsonl(JSON.stringify({ ts, lat: 31.2, lon: 121.4 }));
    expect(r.fixes).toEqual([]);
    expect(r.errors[0]!.message).toMatch(msg);
  });
});

describe('lines', () => {
  it('reads heading and speed when present, null or absent as unknown, extra fields ignored', () => {
    const r = parseJsonl(
      [
        JSON.stringify({ ts: T, lat: 31.2304, lon: 121.4737, heading: 87.5, speed: 8.3, sats: 14 }),
        JSON.stringify({ ts: T + 1000, lat: 31.2305, lon: 121.4738, heading: null, speed: null }),
        JSON.stringify({ ts: T + 2000, lat: 31.2306, lon: 121.4739 }),
        JSON.stringify({ ts: T + 3000, lat: 31.2306, lon: 121.4739, heading: 360 }),
      ].join('\n'),
    );
    expect(r.errors).toEqual([]);
    expect(r.fixes).toEqual([
      { ts: T, lat: 31.2304, lon: 121.4737, heading: 87.5, speed: 8.3 },
      { ts: T + 1000, lat: 31.2305, lon: 121.4738 },
      { ts: T + 2000, lat: 31.2306, lon: 121.4739 },
      { ts: T + 3000, lat: 31.2306, lon: 121.4739, heading: 0 },
    ]);
  });

  it('lat and lon both null are an explicit no-fix', () => {
    const r = parseJsonl(JSON.stringify({ ts: T, lat: null, lon: null }));
    expect(r).toMatchObject({ fixes: [], noFix: [T], errors: [] });
  });

  it.each([
    ['not JSON', '{ts: 1', /not valid JSON/],
    ['an array', '[1,2,3]', /not a JSON object/],
    ['a number', '42', /not a JSON object/],
    ['lat too big', JSON.stringify({ ts: T, lat: 91, lon: 121 }), /^lat: /],
    ['lon too small', JSON.stringify({ ts: T, lat: 31, lon: -180.5 }), /^lon: /],
    ['lon missing', JSON.stringify({ ts: T, lat: 31 }), /^lon: /],
    ['lat as string', JSON.stringify({ ts: T, lat: '31.2', lon: 121 }), /^lat: /],
    ['ts missing', JSON.stringify({ lat: 31, lon: 121 }), /^ts: /],
    ['ts boolean', JSON.stringify({ ts: true, lat: 31, lon: 121 }), /^ts: /],
    ['negative speed', JSON.stringify({ ts: T, lat: 31, lon: 121, speed: -1 }), /^speed: /],
    ['heading above 360', JSON.stringify({ ts: T, lat: 31, lon: 121, heading: 400 }), /^heading: /],
    ['only lat null', JSON.stringify({ ts: T, lat: null, lon: 121 }), /lat is null but lon is not/],
  ])('reports %s', (_n, line, msg) => {
    const r = parseJsonl(['', line].join('\n'));
    expect(r.fixes).toEqual([]);
    expect(r.noFix).toEqual([]);
    expect(r.errors).toEqual([{ line: 2, message: expect.stringMatching(msg) }]);
  });

  it('keeps good lines around bad ones, with the right line numbers', () => {
    const good = (i: number) => JSON.stringify({ ts: T + i * 1000, lat: 31, lon: 121 });
    const r = parseJsonl([good(0), 'garbage', good(1), '', JSON.stringify({ ts: T, lat: 100, lon: 0 }), good(2)].join('\r\n'));
    expect(r.fixes.map((f) => f.ts)).toEqual([T, T + 1000, T + 2000]);
    expect(r.errors.map((e) => e.line)).toEqual([2, 5]);
  });

  it('the incremental parser returns undefined for blank lines and never merges', () => {
    const p = new JsonlParser();
    expect(p.push('   ', 1)).toBeUndefined();
    expect(p.push(JSON.stringify({ ts: T, lat: 1, lon: 2 }), 2)).toEqual({ kind: 'fix', fix: { ts: T, lat: 1, lon: 2 }, merged: false });
  });

  it.each(['ms', 's', 'iso'] as const)('fixture route round-trips with ts as %s', (tsKind) => {
    const route = straightRoute(T, 10, 0.5, { lat: 31.2304, lon: 121.4737 }, { lat: 31.2334, lon: 121.4787 });
    const r = parseJsonl(jsonlLines(route, { ts: tsKind }).join('\n'));
    expect(r.errors).toEqual([]);
    expect(r.fixes).toEqual(route);
  });
});

describe('format detection', () => {
  const nmea = nmeaLines(straightRoute(T, 2, 1, { lat: 31, lon: 121 }, { lat: 31.001, lon: 121.001 })).join('\r\n');
  const jsonl = jsonlLines(straightRoute(T, 2, 1, { lat: 31, lon: 121 }, { lat: 31.001, lon: 121.001 })).join('\n');

  it.each([
    ['NMEA', nmea, 'nmea'],
    ['JSON lines', jsonl, 'jsonl'],
    ['JSON lines after a BOM and blank lines', `\uFEFF\n\n  ${jsonl}`, 'jsonl'],
    ['NMEA after a BOM', `\uFEFF${nmea}`, 'nmea'],
    ['mostly JSON with one stray sentence', `$GPTXT,01,01,02,hello*00\n${jsonl}\n${jsonl}`, 'jsonl'],
    ['JSON after a comment header', `# logger v2\n${jsonl}`, 'jsonl'],
    ['a cut-off first line', '$GNRMC,0835', 'nmea'],
  ] as const)('%s → %s', (_n, chunk, want) => {
    expect(detectTelemetryFormat(chunk)).toBe(want);
    expect(sniffTelemetryFormat(chunk)).toBe(want);
  });

  it.each([
    ['empty', ''],
    ['blank', '\n \r\n'],
    ['garbage', 'hello\nworld\n'],
  ])('%s: undecidable by sniffing, NMEA by default', (_n, chunk) => {
    expect(sniffTelemetryFormat(chunk)).toBeUndefined();
    expect(detectTelemetryFormat(chunk)).toBe('nmea');
  });
});
