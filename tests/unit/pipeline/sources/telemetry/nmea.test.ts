import { describe, expect, it } from 'vitest';
import { NmeaParser, nmeaChecksum, nmeaCoordToDegrees, parseNmea } from '../../../../../pipeline/sources/telemetry/nmea.js';
import { distanceM, ggaSentence, nmeaLines, nmeaSentence, rmcSentence, straightRoute } from '../../../../helpers/fixtures/telemetry.js';

/** The textbook RMC sentence (its checksum 6A is the published one). */
const CLASSIC_RMC = '$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A';
const KNOT = 1852 / 3600;
const s = nmeaSentence;

describe('nmeaCoordToDegrees', () => {
  it.each([
    ['4807.038', 'N', 'lat', 48 + 7.038 / 60],
    ['4807.038', 'S', 'lat', -(48 + 7.038 / 60)],
    ['01131.000', 'E', 'lon', 11 + 31 / 60],
    ['01131.000', 'W', 'lon', -(11 + 31 / 60)],
    ['3114.02850', 'N', 'lat', 31 + 14.0285 / 60],
    ['12128.10450', 'E', 'lon', 121 + 28.1045 / 60],
    ['0000.0000', 'N', 'lat', 0],
    ['9000.0000', 'S', 'lat', -90],
    ['18000.0000', 'W', 'lon', -180],
  ] as const)('%s %s (%s) → %f', (value, hemi, axis, want) => {
    expect(nmeaCoordToDegrees(value, hemi, axis)).toBeCloseTo(want, 9);
  });

  it.each([
    ['4860.000', 'N', 'lat', /minutes/],
    ['9100.000', 'N', 'lat', /<= 90/],
    ['18100.000', 'E', 'lon', /<= 180/],
    ['4807.038', 'E', 'lat', /hemisphere "E"/],
    ['01131.000', 'N', 'lon', /hemisphere "N"/],
    ['48x7.038', 'N', 'lat', /ddmm/],
    ['', 'N', 'lat', /ddmm/],
  ] as const)('rejects %j %s (%s)', (value, hemi, axis, msg) => {
    expect(() => nmeaCoordToDegrees(value, hemi, axis)).toThrow(msg);
  });
});

describe('checksum', () => {
  it('computes the published checksum', () => {
    expect(nmeaChecksum(CLASSIC_RMC.slice(1, -3))).toBe('6A');
  });

  it.each([
    ['good', CLASSIC_RMC, undefined],
    ['good, lower-case hex', CLASSIC_RMC.replace('*6A', '*6a'), undefined],
    ['good, trailing CR', `${CLASSIC_RMC}\r`, undefined],
    ['bad', CLASSIC_RMC.replace('*6A', '*6B'), /bad checksum: \*6B given, \*6A computed/],
    ['corrupted body', CLASSIC_RMC.replace('4807.038', '4807.039'), /bad checksum/],
    ['missing', CLASSIC_RMC.slice(0, -3), /missing checksum/],
    ['one hex digit', CLASSIC_RMC.slice(0, -1), /malformed checksum/],
    ['not hex', CLASSIC_RMC.replace('*6A', '*ZZ'), /malformed checksum/],
  ])('%s', (_name, line, error) => {
    const r = parseNmea(line);
    if (error === undefined) {
      expect(r.errors).toEqual([]);
      expect(r.fixes).toHaveLength(1);
    } else {
      expect(r.fixes).toEqual([]);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]!.line).toBe(1);
      expect(r.errors[0]!.message).toMatch(error);
    }
  });

  it('accepts a missing checksum only when told to', () => {
    expect(parseNmea(CLASSIC_RMC.slice(0, -3), { requireChecksum: false }).fixes).toHaveLength(1);
    // A bad checksum is never accepted, whatever the option.
    expect(parseNmea(CLASSIC_RMC.replace('*6A', '*00'), { requireChecksum: false }).fixes).toHaveLength(0);
  });
});

describe('RMC', () => {
  it('parses time, date, position, speed (knots → m/s) and course', () => {
    const r = parseNmea(CLASSIC_RMC);
    expect(r.errors).toEqual([]);
    const f = r.fixes[0]!;
    expect(f.ts).toBe(Date.UTC(1994, 2, 23, 12, 35, 19));
    expect(f.lat).toBeCloseTo(48.1173, 6);
    expect(f.lon).toBeCloseTo(11.516667, 6);
    expect(f.speed).toBeCloseTo(22.4 * KNOT, 9);
    expect(f.heading).toBeCloseTo(84.4, 9);
  });

  it('keeps fractional seconds and two-digit years after 2000', () => {
    const r = parseNmea(s('GNRMC,083559.25,A,3114.0285,N,12128.1045,E,,,010524,,,A'));
    expect(r.fixes[0]!.ts).toBe(Date.UTC(2024, 4, 1, 8, 35, 59, 250));
    expect(r.fixes[0]!.speed).toBeUndefined();
    expect(r.fixes[0]!.heading).toBeUndefined();
  });

  it.each(['GP', 'GN', 'BD', 'GB', 'GL', 'GA'])('accepts talker %s', (talker) => {
    const r = parseNmea(s(`${talker}RMC,083559.00,A,3114.0285,N,12128.1045,E,1.0,90.0,010524,,,A`));
    expect(r.fixes).toHaveLength(1);
  });

  it('status V is an explicit no-fix at its time, not a position', () => {
    const r = parseNmea(s('GPRMC,083600.00,V,,,,,,,010524,,,N'));
    expect(r.fixes).toEqual([]);
    expect(r.noFix).toEqual([Date.UTC(2024, 4, 1, 8, 36, 0)]);
    expect(r.errors).toEqual([]);
  });

  it('status A with mode indicator N is no-fix too', () => {
    const r = parseNmea(s('GPRMC,083600.00,A,3114.0285,N,12128.1045,E,0.0,0.0,010524,,,N'));
    expect(r.fixes).toEqual([]);
    expect(r.noFix).toHaveLength(1);
  });

  it('an untimed no-fix RMC is placed just after the last timed sentence, or ignored before any', () => {
    const untimed = s('GPRMC,,V,,,,,,,,,,N');
    expect(parseNmea(untimed)).toMatchObject({ fixes: [], noFix: [], errors: [], ignored: 1 });
    const t = Date.UTC(2024, 4, 1, 8, 35, 59);
    const r = parseNmea([s('GPRMC,083559.00,A,3114.0285,N,12128.1045,E,,,010524,,,A'), untimed, untimed].join('\n'));
    expect(r.fixes.map((f) => f.ts)).toEqual([t]);
    expect(r.noFix).toEqual([t + 1]);
  });

  it.each([
    ['status A without position', 'GPRMC,083559.00,A,,,,,,,010524,,,A', /lat ""/],
    ['status A without date', 'GPRMC,083559.00,A,3114.0285,N,12128.1045,E,,,,,,A', /without a date/],
    ['bad status', 'GPRMC,083559.00,X,3114.0285,N,12128.1045,E,,,010524,,,A', /status "X"/],
    ['bad time', 'GPRMC,256000.00,A,3114.0285,N,12128.1045,E,,,010524,,,A', /time "256000.00"/],
    ['bad date', 'GPRMC,083559.00,A,3114.0285,N,12128.1045,E,,,310224,,,A', /not a calendar date/],
    ['bad speed', 'GPRMC,083559.00,A,3114.0285,N,12128.1045,E,fast,,010524,,,A', /speed "fast"/],
  ])('reports %s', (_name, body, msg) => {
    const r = parseNmea(s(body));
    expect(r.fixes).toEqual([]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.message).toMatch(msg);
    expect(r.errors[0]!.message).toContain('GPRMC');
  });
});

describe('GGA', () => {
  const rmc = s('GPRMC,083559.00,A,3114.0285,N,12128.1045,E,10.0,45.0,010524,,,A');

  it('takes its date from the preceding RMC', () => {
    const r = parseNmea([rmc, s('GPGGA,083600.00,3114.0300,N,12128.1100,E,1,12,0.8,8.5,M,7.2,M,,')].join('\n'));
    expect(r.errors).toEqual([]);
    expect(r.fixes).toHaveLength(2);
    expect(r.fixes[1]).toEqual({ ts: Date.UTC(2024, 4, 1, 8, 36, 0), lat: expect.closeTo(31 + 14.03 / 60, 9), lon: expect.closeTo(121 + 28.11 / 60, 9) });
  });

  it('before any RMC cannot be dated: reported with its line, later ones are fine', () => {
    const gga = (t: string) => s(`GPGGA,${t},3114.0300,N,12128.1100,E,1,12,0.8,8.5,M,7.2,M,,`);
    const r = parseNmea([gga('083558.00'), rmc, gga('083600.00')].join('\n'));
    expect(r.errors).toEqual([{ line: 1, message: expect.stringMatching(/cannot be dated: no RMC/) }]);
    expect(r.fixes.map((f) => f.ts)).toEqual([Date.UTC(2024, 4, 1, 8, 35, 59), Date.UTC(2024, 4, 1, 8, 36, 0)]);
  });

  it('quality 0 is an explicit no-fix', () => {
    const r = parseNmea([rmc, s('GPGGA,083600.00,,,,,0,00,99.99,,,,,,')].join('\n'));
    expect(r.fixes).toHaveLength(1);
    expect(r.noFix).toEqual([Date.UTC(2024, 4, 1, 8, 36, 0)]);
    expect(r.errors).toEqual([]);
  });

  it.each([
    ['1 (GPS)', 1],
    ['2 (DGPS)', 2],
    ['4 (RTK)', 4],
    ['6 (estimated)', 6],
  ])('quality %s is a fix', (_n, q) => {
    const r = parseNmea([rmc, s(`GPGGA,083600.00,3114.0300,N,12128.1100,E,${q},12,0.8,8.5,M,7.2,M,,`)].join('\n'));
    expect(r.fixes).toHaveLength(2);
  });

  it('rejects a missing fix quality', () => {
    const r = parseNmea([rmc, s('GPGGA,083600.00,3114.0300,N,12128.1100,E,,12,0.8,8.5,M,7.2,M,,')].join('\n'));
    expect(r.errors[0]).toMatchObject({ line: 2, message: expect.stringMatching(/fix quality/) });
  });
});

describe('midnight rollover', () => {
  it.each([
    // RMC just before midnight, GGA just after: the next day.
    ['235959.00', '311224', '000000.50', Date.UTC(2025, 0, 1, 0, 0, 0, 500)],
    // RMC just after midnight, a late GGA from just before: the previous day.
    ['000001.00', '010125', '235958.00', Date.UTC(2024, 11, 31, 23, 59, 58)],
    // Same day, no rollover.
    ['120000.00', '290224', '120001.00', Date.UTC(2024, 1, 29, 12, 0, 1)],
  ])('RMC %s %s then GGA %s', (rmcTime, date, ggaTime, want) => {
    const r = parseNmea(
      [s(`GPRMC,${rmcTime},A,3114.0285,N,12128.1045,E,,,${date},,,A`), s(`GPGGA,${ggaTime},3114.0300,N,12128.1100,E,1,12,0.8,8.5,M,7.2,M,,`)].join('\n'),
    );
    expect(r.errors).toEqual([]);
    expect(r.fixes[1]!.ts).toBe(want);
  });

  it('GGA-only stretches keep counting days from the last placed time', () => {
    const lines = [s('GPRMC,235958.00,A,3114.0285,N,12128.1045,E,,,311224,,,A')];
    for (const t of ['235959.00', '000000.00', '000001.00']) lines.push(s(`GPGGA,${t},3114.0300,N,12128.1100,E,1,12,0.8,8.5,M,7.2,M,,`));
    const ts = parseNmea(lines.join('\n')).fixes.map((f) => f.ts);
    expect(ts).toEqual([Date.UTC(2024, 11, 31, 23, 59, 58), Date.UTC(2024, 11, 31, 23, 59, 59), Date.UTC(2025, 0, 1), Date.UTC(2025, 0, 1, 0, 0, 1)]);
  });
});

describe('RMC + GGA merge', () => {
  const rmc = s('GPRMC,083600.00,A,3114.0285,N,12128.1045,E,10.0,45.0,010524,,,A');
  const gga = s('GPGGA,083600.00,3114.02851,N,12128.10452,E,1,12,0.8,8.5,M,7.2,M,,');
  const ts = Date.UTC(2024, 4, 1, 8, 36, 0);

  it('RMC then GGA of one epoch give one fix with speed/course from RMC', () => {
    const r = parseNmea([rmc, gga].join('\r\n'));
    expect(r.fixes).toHaveLength(1);
    expect(r.fixes[0]).toEqual({ ts, lat: expect.closeTo(31 + 14.02851 / 60, 9), lon: expect.closeTo(121 + 28.10452 / 60, 9), speed: expect.closeTo(10 * KNOT, 9), heading: 45 });
  });

  it('GGA then RMC of one epoch merge too (once a date is known)', () => {
    const prev = s('GPRMC,083559.00,A,3114.0285,N,12128.1045,E,10.0,45.0,010524,,,A');
    const r = parseNmea([prev, gga, rmc].join('\n'));
    expect(r.fixes).toHaveLength(2);
    expect(r.fixes[1]).toMatchObject({ ts, speed: expect.closeTo(10 * KNOT, 9), heading: 45 });
  });

  it('the incremental parser marks the second sentence as merged', () => {
    const p = new NmeaParser();
    expect(p.push(rmc, 1)).toMatchObject({ kind: 'fix', merged: false });
    expect(p.push(gga, 2)).toMatchObject({ kind: 'fix', merged: true, fix: { ts, heading: 45 } });
    expect(p.push('', 3)).toBeUndefined();
  });

  it('a no-fix sentence in the same epoch wins over a fix', () => {
    const r = parseNmea([rmc, s('GPGGA,083600.00,,,,,0,00,99.99,,,,,,')].join('\n'));
    expect(r.fixes).toEqual([]);
    expect(r.noFix).toEqual([ts]);
    const r2 = parseNmea([s('GPRMC,083600.00,V,,,,,,,010524,,,N'), gga].join('\n'));
    expect(r2.fixes).toEqual([]);
    expect(r2.noFix).toEqual([ts]);
  });
});

describe('other lines', () => {
  it('ignores other sentence types silently but counts them', () => {
    const p = new NmeaParser();
    const lines = [
      s('GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00'),
      s('GPVTG,054.7,T,034.4,M,005.5,N,010.2,K,A'),
      s('GNGSA,A,3,04,05,,09,12,,,24,,,,,2.5,1.3,2.1'),
      s('PUBX,00,083600.00,3114.0285,N'),
      CLASSIC_RMC,
    ];
    const r = lines.map((l, i) => p.push(l, i + 1));
    expect(r.slice(0, 4)).toEqual([{ kind: 'ignored' }, { kind: 'ignored' }, { kind: 'ignored' }, { kind: 'ignored' }]);
    expect(r[4]).toMatchObject({ kind: 'fix' });
    expect(Object.fromEntries(p.ignoredTypes)).toEqual({ GSV: 1, VTG: 1, GSA: 1, PUBX: 1 });
    expect(parseNmea(lines.join('\n'))).toMatchObject({ ignored: 4, errors: [] });
  });

  it('reports non-NMEA lines with their 1-based line number and skips blank lines', () => {
    const r = parseNmea(['', 'hello', CLASSIC_RMC, '  ', '{"ts":1}'].join('\n'));
    expect(r.errors).toEqual([
      { line: 2, message: expect.stringMatching(/not an NMEA sentence/) },
      { line: 5, message: expect.stringMatching(/not an NMEA sentence/) },
    ]);
    expect(r.fixes).toHaveLength(1);
  });
});

describe('fixture round trip', () => {
  it('a generated route parses back within centimetres, one fix per epoch', () => {
    const route = straightRoute(Date.UTC(2024, 4, 1, 0, 0, 0), 20, 0.2, { lat: 31.2304, lon: 121.4737 }, { lat: 31.2334, lon: 121.4787 });
    const r = parseNmea(nmeaLines(route, { talker: 'GN' }).join('\r\n'));
    expect(r.errors).toEqual([]);
    expect(r.fixes).toHaveLength(route.length);
    for (let i = 0; i < route.length; i++) {
      const want = route[i]!;
      const got = r.fixes[i]!;
      expect(got.ts).toBe(want.ts);
      expect(distanceM(got, want)).toBeLessThan(0.05);
      expect(got.speed).toBeCloseTo(want.speed!, 2);
      expect(got.heading).toBeCloseTo(want.heading!, 1);
    }
  });

  it('fixture sentences for the southern/western hemispheres carry S/W', () => {
    const f = { ts: Date.UTC(2024, 0, 1), lat: -33.8688, lon: -70.6693 };
    expect(rmcSentence(f)).toMatch(/,S,\d{5}\.\d+,W,/);
    expect(ggaSentence(f)).toMatch(/,S,\d{5}\.\d+,W,/);
    const r = parseNmea([rmcSentence(f), ggaSentence(f)].join('\n'));
    expect(r.fixes[0]!.lat).toBeCloseTo(-33.8688, 6);
    expect(r.fixes[0]!.lon).toBeCloseTo(-70.6693, 6);
  });
});
