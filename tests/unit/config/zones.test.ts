import { describe, expect, it } from 'vitest';
import { hhmmToMinutes, isValidTimeZone, polygonProblem, timeWindowSchema, zoneSchema } from '../../../config/zones.js';
import { isStreetwatchError } from '../../../core/errors.js';
import { parseConfigText } from '../../../config/loader.js';

const square = [
  [0.1, 0.1],
  [0.9, 0.1],
  [0.9, 0.9],
  [0.1, 0.9],
];
const geoSquare = {
  type: 'Polygon',
  coordinates: [
    [
      [121.48, 31.23],
      [121.49, 31.23],
      [121.49, 31.24],
      [121.48, 31.24],
      [121.48, 31.23],
    ],
  ],
};

const messages = (input: unknown): string[] => {
  const r = zoneSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('zoneSchema: valid zones of every kind', () => {
  it.each([
    ['no_vending', { id: 'a', kind: 'no_vending', polygon: square, rules: { stall: { dwell: 120 } } }],
    ['shopfront', { id: 'a', kind: 'shopfront', polygon: square, shop: { id: 's1', name: '鞋店', licence: '9131' }, rules: { door_front: { dwell: 300 } } }],
    ['no_stacking on a geofence', { id: 'a', kind: 'no_stacking', geofence: geoSquare, rules: { stacking: { dwell: 600 } } }],
    ['legal_stall', { id: 'a', kind: 'legal_stall', polygon: square, openingHours: [{ from: '18:00', to: '02:00' }] }],
    ['mask', { id: 'a', kind: 'mask', polygon: square }],
  ])('%s', (_, zone) => {
    expect(messages(zone)).toEqual([]);
  });

  it('fills the days of a time window with every weekday and keeps the rest', () => {
    const z = zoneSchema.parse({
      id: 'a',
      kind: 'no_vending',
      polygon: square,
      site: 'njd-412',
      timezone: 'Asia/Urumqi',
      rules: { stall: { dwell: 60, activeHours: [{ from: '08:00', to: '24:00' }] } },
    });
    expect(z.rules?.stall?.activeHours).toEqual([{ days: [1, 2, 3, 4, 5, 6, 7], from: '08:00', to: '24:00' }]);
    expect(z.site).toBe('njd-412');
    expect(z.timezone).toBe('Asia/Urumqi');
  });

  it('accepts GeoJSON positions with an altitude', () => {
    const ring = geoSquare.coordinates[0]!.map(([lon, lat]) => [lon, lat, 4.5]);
    expect(messages({ id: 'a', kind: 'mask', geofence: { type: 'Polygon', coordinates: [ring] } })).toEqual([]);
  });
});

describe('zoneSchema: rejected zones', () => {
  it.each<[string, unknown, string]>([
    ['neither polygon nor geofence', { id: 'a', kind: 'mask' }, ': a zone needs a polygon'],
    ['both polygon and geofence', { id: 'a', kind: 'mask', polygon: square, geofence: geoSquare }, 'geofence: a zone has either a polygon or a geofence, not both'],
    ['shopfront without shop', { id: 'a', kind: 'shopfront', polygon: square, rules: { door_front: { dwell: 1 } } }, ': a shopfront zone needs shop'],
    ['shop on a no_vending zone', { id: 'a', kind: 'no_vending', polygon: square, shop: { id: 's', name: 'n' }, rules: { stall: { dwell: 1 } } }, 'shop: only shopfront zones carry a shop'],
    ['shop without name', { id: 'a', kind: 'shopfront', polygon: square, shop: { id: 's' }, rules: { door_front: { dwell: 1 } } }, 'shop.name: '],
    ['legal_stall without openingHours', { id: 'a', kind: 'legal_stall', polygon: square }, ': a legal_stall zone needs openingHours'],
    ['openingHours on a no_stacking zone', { id: 'a', kind: 'no_stacking', polygon: square, openingHours: [{ from: '08:00', to: '09:00' }], rules: { stacking: { dwell: 1 } } }, 'openingHours: only legal_stall zones'],
    ['rules on a mask', { id: 'a', kind: 'mask', polygon: square, rules: { stall: { dwell: 1 } } }, 'rules: a mask zone is ignored'],
    ['rules on a legal_stall', { id: 'a', kind: 'legal_stall', polygon: square, openingHours: [{ from: '08:00', to: '09:00' }], rules: { stall: { dwell: 1 } } }, 'rules: a legal_stall zone exempts vending'],
    ['no rules on a no_vending zone', { id: 'a', kind: 'no_vending', polygon: square }, ': a no_vending zone needs rules (e.g. rules: {stall: {dwell: 300}})'],
    ['empty rules', { id: 'a', kind: 'no_vending', polygon: square, rules: {} }, 'rules: rules must set at least one of stall, door_front, stacking'],
    ['door_front outside a shopfront', { id: 'a', kind: 'no_stacking', polygon: square, rules: { door_front: { dwell: 1 } } }, 'rules.door_front: the door_front rule needs the shop'],
    ['unknown rule', { id: 'a', kind: 'no_vending', polygon: square, rules: { parking: { dwell: 1 } } }, 'rules: Unrecognized key: "parking"'],
    ['dwell of 0', { id: 'a', kind: 'no_vending', polygon: square, rules: { stall: { dwell: 0 } } }, 'rules.stall.dwell: dwell must be > 0 seconds'],
    ['dwell as text', { id: 'a', kind: 'no_vending', polygon: square, rules: { stall: { dwell: '5m' } } }, 'rules.stall.dwell: dwell must be a number of seconds'],
    ['bad kind', { id: 'a', kind: 'parking', polygon: square }, 'kind: kind must be one of no_vending, shopfront, no_stacking, legal_stall, mask'],
    ['bad id', { id: 'a b', kind: 'mask', polygon: square }, 'id: use letters, digits'],
    ['unknown time zone', { id: 'a', kind: 'mask', polygon: square, timezone: 'China/Beijing' }, "timezone: unknown time zone 'China/Beijing'"],
    ['polygon of 2 points', { id: 'a', kind: 'mask', polygon: [[0, 0], [1, 1]] }, 'polygon: a polygon needs at least 3 points'],
    ['point outside 0..1', { id: 'a', kind: 'mask', polygon: [[0, 0], [1, 0], [1, 1.2]] }, 'polygon.2.1: coordinates are normalised to 0..1'],
    ['point with 3 numbers', { id: 'a', kind: 'mask', polygon: [[0, 0, 0], [1, 0], [1, 1]] }, 'polygon.0: '],
    ['pixel coordinates', { id: 'a', kind: 'mask', polygon: [[0, 0], [640, 0], [640, 360]] }, 'polygon.1.0: coordinates are normalised'],
    ['collinear polygon', { id: 'a', kind: 'mask', polygon: [[0, 0], [0.5, 0.5], [1, 1]] }, 'polygon: polygon has no area'],
    ['bow-tie polygon', { id: 'a', kind: 'mask', polygon: [[0, 0], [1, 1], [1, 0], [0, 0.8]] }, 'polygon: polygon crosses itself'],
    // its two lobes cancel out to a signed area of 0: still a crossing, not a zone without area
    ['symmetric bow-tie polygon', { id: 'a', kind: 'mask', polygon: [[0.2, 0.2], [0.8, 0.8], [0.8, 0.2], [0.2, 0.8]] }, 'polygon: polygon crosses itself (edge 1–2 meets edge 3–4)'],
    ['symmetric bow-tie geofence', { id: 'a', kind: 'mask', geofence: { type: 'Polygon', coordinates: [[[121.48, 31.23], [121.49, 31.24], [121.49, 31.23], [121.48, 31.24], [121.48, 31.23]]] } }, 'geofence.coordinates.0: ring crosses itself'],
    ['geofence type Point', { id: 'a', kind: 'mask', geofence: { type: 'Point', coordinates: [[[121, 31]]] } }, "geofence.type: geofence.type must be 'Polygon'"],
    ['geofence ring not closed', { id: 'a', kind: 'mask', geofence: { type: 'Polygon', coordinates: [geoSquare.coordinates[0]!.slice(0, 4).concat([[121.48, 31.235]])] } }, 'geofence.coordinates.0: a GeoJSON ring must end with its first position'],
    ['geofence latitude out of range (lat/lon swapped)', { id: 'a', kind: 'mask', geofence: { type: 'Polygon', coordinates: [[[31.2, 121.4], [31.3, 121.4], [31.3, 121.5], [31.2, 121.4]]] } }, 'geofence.coordinates.0.0.1: latitude must be in -90..90'],
    ['geofence with too few positions', { id: 'a', kind: 'mask', geofence: { type: 'Polygon', coordinates: [[[121, 31], [121.1, 31], [121, 31]]] } }, 'geofence.coordinates.0: a GeoJSON ring needs at least 4 positions'],
    ['geofence with extra members', { id: 'a', kind: 'mask', geofence: { ...geoSquare, properties: {} } }, 'geofence: Unrecognized key: "properties"'],
  ])('%s', (_, zone, expected) => {
    const got = messages(zone);
    expect(got.some((m) => m.startsWith(expected)), `expected an issue starting with "${expected}", got ${JSON.stringify(got)}`).toBe(true);
  });

  it('reports a shopfront without shop even when its polygon is also wrong', () => {
    const got = messages({ id: 'a', kind: 'shopfront', polygon: [[0, 0], [1, 1]], rules: { door_front: { dwell: 1 } } });
    expect(got).toEqual(['polygon: a polygon needs at least 3 points [x, y]', ': a shopfront zone needs shop: {id, name} (the shop is the ticket\'s subject)']);
  });
});

describe('time windows', () => {
  it.each<[unknown, string | null]>([
    [{ from: '08:00', to: '20:00' }, null],
    [{ from: '18:00', to: '02:00' }, null],
    [{ from: '00:00', to: '24:00', days: [6, 7] }, null],
    [{ from: '8:00', to: '20:00' }, 'from: expected a time "HH:MM"'],
    [{ from: '24:00', to: '20:00' }, 'from: expected a time "HH:MM"'],
    [{ from: '08:60', to: '20:00' }, 'from: expected a time "HH:MM"'],
    [{ from: 480, to: '20:00' }, 'from: expected a time "HH:MM" (24-hour, quote it in YAML)'],
    [{ from: '08:00', to: '08:00' }, 'to: from and to are the same time'],
    [{ from: '00:00', to: '24:00', days: [] }, 'days: days must list at least one weekday'],
    [{ from: '00:00', to: '24:00', days: [0] }, 'days.0: days are ISO weekdays'],
    [{ from: '00:00', to: '24:00', days: [1, 8] }, 'days.1: days are ISO weekdays'],
    [{ from: '00:00', to: '24:00', days: [1, 1] }, 'days: days lists a weekday twice'],
  ])('%j', (w, expected) => {
    const r = timeWindowSchema.safeParse(w);
    if (expected === null) {
      expect(r.success).toBe(true);
    } else {
      expect(r.success).toBe(false);
      const got = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      expect(got.some((m) => m.startsWith(expected)), JSON.stringify(got)).toBe(true);
    }
  });

  it('hhmmToMinutes', () => {
    expect(hhmmToMinutes('00:00')).toBe(0);
    expect(hhmmToMinutes('08:30')).toBe(510);
    expect(hhmmToMinutes('23:59')).toBe(1439);
    expect(hhmmToMinutes('24:00')).toBe(1440);
    expect(() => hhmmToMinutes('8:30')).toThrow(RangeError);
  });

  it('isValidTimeZone', () => {
    expect(isValidTimeZone('Asia/Shanghai')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Beijing')).toBe(false);
  });
});

describe('polygonProblem', () => {
  it('accepts convex and concave outlines and a repeated closing point', () => {
    expect(polygonProblem([[0, 0], [1, 0], [0, 1]])).toBeUndefined();
    expect(polygonProblem([[0, 0], [1, 0], [1, 1], [0.5, 0.3], [0, 1]])).toBeUndefined();
    expect(polygonProblem([[0, 0], [1, 0], [0, 1], [0, 0]])).toBeUndefined();
  });

  it('rejects degenerate and self-crossing outlines', () => {
    expect(polygonProblem([[0, 0], [1, 0], [0, 0]])).toMatch(/at least 3 distinct points/);
    expect(polygonProblem([[0, 0], [0.5, 0], [1, 0]])).toMatch(/no area/);
    expect(polygonProblem([[0, 0], [1, 1], [1, 0], [0, 0.8]])).toMatch(/crosses itself \(edge 1–2 meets edge 3–4\)/);
    // An edge that doubles back along another touches it without crossing: still ambiguous, still rejected.
    expect(polygonProblem([[0, 0], [1, 0], [1, 1], [0.5, 0], [0, 1]])).toMatch(/crosses itself/);
  });

  it.each<[string, [number, number][], RegExp]>([
    ['a symmetric bow-tie (signed area 0)', [[0, 0], [1, 1], [1, 0], [0, 1]], /^crosses itself \(edge 1–2 meets edge 3–4\)/],
    ['a symmetric bow-tie, closed', [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]], /^crosses itself \(edge 1–2 meets edge 3–4\)/],
    ['a figure eight of six points', [[0, 0], [0.5, 0.5], [1, 0], [1, 1], [0.5, 0.5], [0, 1]], /^crosses itself/],
    ['four points on one line', [[0, 0], [0.3, 0], [0.6, 0], [1, 0]], /^has no area \(its points are on one line\)/],
    ['a line folded back on itself', [[0, 0], [1, 1], [0.5, 0.5]], /^has no area \(its points are on one line\)/],
    ['a vertical line with a repeated point', [[0.5, 0], [0.5, 0], [0.5, 1], [0.5, 0.2]], /^has no area/],
  ])('%s', (_name, pts, want) => {
    expect(polygonProblem(pts)).toMatch(want);
  });
});

describe('a zone polygon error names its key path', () => {
  it('reports a bow-tie at cameras[0].zones[0].polygon as crossing itself', () => {
    const yaml = `version: 1
cameras:
  - id: a
    source: { kind: file, path: a.mp4 }
    zones:
      - id: z1
        kind: mask
        polygon: [[0.2, 0.2], [0.8, 0.8], [0.8, 0.2], [0.2, 0.8]]
`;
    let err: unknown;
    try {
      parseConfigText(yaml, 'test.yaml');
    } catch (e) {
      err = e;
    }
    expect(isStreetwatchError(err, 'CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/test\.yaml:8:\d+ {2}cameras\[0\]\.zones\[0\]\.polygon {2}polygon crosses itself \(edge 1–2 meets edge 3–4\)/);
    expect((err as Error).message).not.toMatch(/no area/);
  });
});
