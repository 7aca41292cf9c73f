import { describe, expect, it } from 'vitest';
import type { FramePosition, GeoFix } from '../../../../../core/types.js';
import { TelemetryTrack } from '../../../../../pipeline/sources/telemetry/track.js';
import { straightRoute } from '../../../../helpers/fixtures/telemetry.js';

const T = Date.UTC(2024, 4, 1, 0, 0, 0);
const MAX_GAP = 5000;

function track(fixes: GeoFix[], noFix: number[] = [], opts?: ConstructorParameters<typeof TelemetryTrack>[0]): TelemetryTrack {
  const t = new TelemetryTrack(opts);
  for (const f of fixes) t.add(f);
  for (const m of noFix) t.markNoFix(m);
  return t;
}

function fix(p: FramePosition): Extract<FramePosition, { status: 'fix' }> {
  if (p.status !== 'fix') throw new Error(`expected a fix, got no_fix: ${p.reason}`);
  return p;
}

describe('positionAt: interpolation', () => {
  const a: GeoFix = { ts: T, lat: 31.23, lon: 121.47, heading: 10, speed: 4 };
  const b: GeoFix = { ts: T + 1000, lat: 31.231, lon: 121.472, heading: 20, speed: 6 };
  const t = track([a, b]);

  it.each([
    ['midpoint', T + 500, { lat: 31.2305, lon: 121.471, heading: 15, speed: 5, gapMs: 500 }],
    ['a quarter', T + 250, { lat: 31.23025, lon: 121.4705, heading: 12.5, speed: 4.5, gapMs: 250 }],
    ['three quarters (gap to the later fix)', T + 750, { lat: 31.23075, lon: 121.4715, heading: 17.5, speed: 5.5, gapMs: 250 }],
    ['exactly the first fix', T, { lat: 31.23, lon: 121.47, heading: 10, speed: 4, gapMs: 0 }],
    ['exactly the last fix', T + 1000, { lat: 31.231, lon: 121.472, heading: 20, speed: 6, gapMs: 0 }],
  ])('%s', (_n, wallMs, want) => {
    const p = fix(t.positionAt(wallMs, MAX_GAP));
    expect(p.lat).toBeCloseTo(want.lat, 10);
    expect(p.lon).toBeCloseTo(want.lon, 10);
    expect(p.heading).toBeCloseTo(want.heading, 10);
    expect(p.speed).toBeCloseTo(want.speed, 10);
    expect(p.gapMs).toBe(want.gapMs);
  });

  it('exact match on an inner fix of many returns that fix', () => {
    const route = straightRoute(T, 60, 1, { lat: 31.2, lon: 121.4 }, { lat: 31.26, lon: 121.46 });
    const tr = track(route);
    for (const i of [1, 17, 30, 59]) {
      expect(tr.positionAt(route[i]!.ts, MAX_GAP)).toEqual({ status: 'fix', lat: route[i]!.lat, lon: route[i]!.lon, heading: route[i]!.heading, speed: route[i]!.speed, gapMs: 0 });
    }
  });

  it.each([
    ['350 → 10 passes through 0', 350, 10, 0.5, 0],
    ['359 → 1 at a quarter', 359, 1, 0.25, 359.5],
    ['10 → 350 passes through 0', 10, 350, 0.5, 0],
    ['1 → 359 at a quarter', 1, 359, 0.25, 0.5],
    ['90 → 270 (a U-turn) goes one way, not to 0/360', 90, 270, 0.5, 180],
    ['0 → 90', 0, 90, 0.5, 45],
  ])('heading %s', (_n, h1, h2, k, want) => {
    const tr = track([
      { ts: T, lat: 31, lon: 121, heading: h1 },
      { ts: T + 1000, lat: 31, lon: 121, heading: h2 },
    ]);
    const h = fix(tr.positionAt(T + 1000 * k, MAX_GAP)).heading!;
    expect(h).toBeGreaterThanOrEqual(0);
    expect(h).toBeLessThan(360);
    const diff = Math.abs(((h - want + 540) % 360) - 180);
    expect(diff).toBeLessThan(1e-9);
  });

  it('heading or speed known on one side only is taken from that side', () => {
    const tr = track([
      { ts: T, lat: 31, lon: 121, heading: 45 },
      { ts: T + 1000, lat: 31, lon: 121, speed: 3 },
    ]);
    expect(fix(tr.positionAt(T + 500, MAX_GAP))).toMatchObject({ heading: 45, speed: 3 });
    const none = fix(track([{ ts: T, lat: 31, lon: 121 }, { ts: T + 1000, lat: 31, lon: 121 }]).positionAt(T + 500, MAX_GAP));
    expect(none).not.toHaveProperty('heading');
    expect(none).not.toHaveProperty('speed');
  });

  it('longitude crossing ±180 interpolates the short way', () => {
    const tr = track([
      { ts: T, lat: 0, lon: 179.9 },
      { ts: T + 1000, lat: 0, lon: -179.9 },
    ]);
    expect(Math.abs(fix(tr.positionAt(T + 500, MAX_GAP)).lon)).toBeCloseTo(180, 9);
    expect(fix(tr.positionAt(T + 250, MAX_GAP)).lon).toBeCloseTo(179.95, 9);
  });
});

describe('positionAt: coverage and gaps', () => {
  const a: GeoFix = { ts: T, lat: 31.23, lon: 121.47 };
  const b: GeoFix = { ts: T + 1000, lat: 31.231, lon: 121.472 };

  it('no fixes at all', () => {
    expect(new TelemetryTrack().positionAt(T, MAX_GAP)).toEqual({ status: 'no_fix', reason: 'no GPS fix received yet' });
    expect(track([], [T]).positionAt(T, MAX_GAP)).toMatchObject({ status: 'no_fix', reason: expect.stringMatching(/no fix so far/) });
  });

  it.each([
    ['before, within max gap', T - 3000, { status: 'fix', lat: a.lat, lon: a.lon, gapMs: 3000 }],
    ['before, exactly max gap', T - MAX_GAP, { status: 'fix', lat: a.lat, lon: a.lon, gapMs: MAX_GAP }],
    ['before, beyond max gap', T - MAX_GAP - 1, { status: 'no_fix', reason: expect.stringMatching(/5\.001 s before the first fix/) }],
    ['after, within max gap', T + 1000 + 4000, { status: 'fix', lat: b.lat, lon: b.lon, gapMs: 4000 }],
    ['after, beyond max gap', T + 1000 + 60_000, { status: 'no_fix', reason: expect.stringMatching(/60 s after the last fix/) }],
  ])('%s', (_n, wallMs, want) => {
    expect(track([a, b]).positionAt(wallMs, MAX_GAP)).toEqual(want);
  });

  it.each([
    ['just over 2 × max gap apart', 2 * MAX_GAP + 1, 'no_fix'],
    ['exactly 2 × max gap apart', 2 * MAX_GAP, 'fix'],
    ['well within', MAX_GAP, 'fix'],
  ])('fixes %s', (_n, span, status) => {
    const tr = track([a, { ...b, ts: T + span }]);
    const p = tr.positionAt(T + span / 2, MAX_GAP);
    expect(p.status).toBe(status);
    if (p.status === 'no_fix') expect(p.reason).toMatch(/apart \(more than 2 × max gap 5 s\)/);
    // Near a fix, the big gap still wins: the pair is not trusted for interpolation.
    if (status === 'no_fix') expect(tr.positionAt(T + 100, MAX_GAP).status).toBe('no_fix');
  });

  it('a single fix serves frames within max gap on both sides', () => {
    const tr = track([a]);
    expect(tr.positionAt(T - 1000, MAX_GAP)).toMatchObject({ status: 'fix', gapMs: 1000 });
    expect(tr.positionAt(T + 2000, MAX_GAP)).toMatchObject({ status: 'fix', gapMs: 2000 });
    expect(tr.positionAt(T + 6000, MAX_GAP).status).toBe('no_fix');
  });
});

describe('positionAt: explicit no-fix marks', () => {
  const route = straightRoute(T, 4, 1, { lat: 31.2, lon: 121.4 }, { lat: 31.204, lon: 121.404 }); // fixes at T..T+4s

  it.each([
    ['a mark between the surrounding fixes', [T + 1500], T + 1200, 'no_fix', /no fix at .* between the surrounding fixes/],
    ['a mark in another interval', [T + 3500], T + 1200, 'fix', undefined],
    ['a mark exactly on a fix time replaces that fix', [T + 2000], T + 2000, 'no_fix', /between the surrounding fixes/],
    ['a mark after the last fix, frame after the mark', [T + 4500], T + 4800, 'no_fix', /after the last fix/],
    ['a mark after the last fix, frame before the mark', [T + 4500], T + 4200, 'fix', undefined],
    ['a mark after the last fix, frame exactly on the mark', [T + 4500], T + 4500, 'no_fix', /after the last fix/],
    ['a mark before the first fix, frame exactly on the mark', [T - 500], T - 500, 'no_fix', /before the first fix/],
    ['a mark before the first fix, frame before the mark', [T - 500], T - 800, 'no_fix', /before the first fix/],
    ['a mark before the first fix, frame after the mark', [T - 500], T - 200, 'fix', undefined],
  ])('%s', (_n, marks, wallMs, status, reason) => {
    const p = track(route, marks).positionAt(wallMs, MAX_GAP);
    expect(p.status).toBe(status);
    if (reason && p.status === 'no_fix') expect(p.reason).toMatch(reason);
  });

  it('a fix arriving for a marked ts replaces the mark (the later statement wins)', () => {
    const tr = track(route, [T + 1500]);
    expect(tr.positionAt(T + 1200, MAX_GAP).status).toBe('no_fix');
    tr.add({ ts: T + 1500, lat: 31.2015, lon: 121.4015 });
    expect(tr.noFixCount).toBe(0);
    expect(fix(tr.positionAt(T + 1500, MAX_GAP)).lat).toBe(31.2015);
  });
});

describe('insertion order and duplicates', () => {
  it('out-of-order fixes end up sorted and interpolate the same as in-order ones', () => {
    const route = straightRoute(T, 30, 0.1, { lat: 31.2, lon: 121.4 }, { lat: 31.23, lon: 121.43 });
    // Deterministic local shuffle: swap neighbours and move some fixes up to 5 places late, as a jittery link would.
    const shuffled = [...route];
    for (let i = 0; i + 5 < shuffled.length; i += 7) {
      const [x] = shuffled.splice(i, 1);
      shuffled.splice(i + 5, 0, x!);
    }
    expect(shuffled).not.toEqual(route);
    const inOrder = track(route);
    const jumbled = track(shuffled);
    expect(jumbled.toArray()).toEqual(route);
    for (let ms = -500; ms < 31_000; ms += 37) {
      expect(jumbled.positionAt(T + ms, MAX_GAP)).toEqual(inOrder.positionAt(T + ms, MAX_GAP));
    }
  });

  it('a duplicate ts replaces the earlier fix', () => {
    const tr = track([
      { ts: T, lat: 31, lon: 121 },
      { ts: T + 1000, lat: 31.001, lon: 121.001 },
      { ts: T + 2000, lat: 31.002, lon: 121.002 },
    ]);
    tr.add({ ts: T + 1000, lat: 31.0015, lon: 121.0015, speed: 2 });
    tr.add({ ts: T + 2000, lat: 31.0025, lon: 121.0025 });
    expect(tr.size).toBe(3);
    expect(tr.toArray().map((f) => f.lat)).toEqual([31, 31.0015, 31.0025]);
    expect(tr.positionAt(T + 1000, MAX_GAP)).toMatchObject({ lat: 31.0015, speed: 2 });
  });

  it('rejects non-finite or out-of-range fixes instead of corrupting the order', () => {
    const tr = new TelemetryTrack();
    expect(() => tr.add({ ts: Number.NaN, lat: 0, lon: 0 })).toThrow(RangeError);
    expect(() => tr.add({ ts: T, lat: 91, lon: 0 })).toThrow(RangeError);
    expect(() => tr.markNoFix(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(tr.size).toBe(0);
  });
});

describe('memory bound', () => {
  it('keeps the last maxFixes fixes and says when a frame asks for dropped history', () => {
    const tr = new TelemetryTrack({ maxFixes: 100 });
    const route = straightRoute(T, 999, 1, { lat: 31.2, lon: 121.4 }, { lat: 31.3, lon: 121.5 });
    for (const f of route) tr.add(f);
    expect(tr.size).toBe(100);
    expect(tr.range()).toEqual({ firstMs: T + 900_000, lastMs: T + 999_000 });
    expect(tr.toArray()).toEqual(route.slice(900));
    expect(tr.positionAt(T + 500_000, MAX_GAP)).toMatchObject({ status: 'no_fix', reason: expect.stringMatching(/dropped by the memory bound/) });
    expect(fix(tr.positionAt(T + 950_500, MAX_GAP)).lat).toBeCloseTo((route[950]!.lat + route[951]!.lat) / 2, 10);
    // A straggler older than what is kept is dropped, not inserted before the window.
    expect(tr.add({ ts: T + 10_000, lat: 31, lon: 121 })).toBe(false);
    expect(tr.size).toBe(100);
  });

  it('keeps only the last maxAgeMs behind the newest fix', () => {
    const tr = new TelemetryTrack({ maxAgeMs: 60_000 });
    for (const f of straightRoute(T, 600, 1, { lat: 31.2, lon: 121.4 }, { lat: 31.3, lon: 121.5 })) tr.add(f);
    expect(tr.range()).toEqual({ firstMs: T + 540_000, lastMs: T + 600_000 });
    expect(tr.size).toBe(61);
  });

  it('stays correct through many compactions', () => {
    const tr = new TelemetryTrack({ maxFixes: 10 });
    const route = straightRoute(T, 5000, 1, { lat: 31.2, lon: 121.4 }, { lat: 31.3, lon: 121.5 });
    for (const f of route) tr.add(f);
    expect(tr.toArray()).toEqual(route.slice(-10));
    expect(fix(tr.positionAt(T + 4995_000, MAX_GAP)).gapMs).toBe(0);
  });

  it('bounds no-fix marks too, even with no fix ever', () => {
    const tr = new TelemetryTrack({ maxFixes: 50 });
    for (let i = 0; i < 5000; i++) tr.markNoFix(T + i * 1000);
    expect(tr.noFixCount).toBe(50);
    expect(tr.noFixMarks()[0]).toBe(T + 4950_000);
  });

  it('keeps marks that precede the first fix (a receiver acquiring its first fix)', () => {
    const tr = new TelemetryTrack();
    tr.markNoFix(T - 2000);
    tr.markNoFix(T - 1000);
    tr.add({ ts: T, lat: 31, lon: 121 });
    tr.add({ ts: T + 1000, lat: 31, lon: 121 });
    expect(tr.noFixMarks()).toEqual([T - 2000, T - 1000]);
    expect(tr.positionAt(T - 1500, MAX_GAP).status).toBe('no_fix');
  });

  it('rejects nonsensical bounds', () => {
    expect(() => new TelemetryTrack({ maxFixes: 0 })).toThrow(RangeError);
    expect(() => new TelemetryTrack({ maxAgeMs: 0 })).toThrow(RangeError);
  });
});
