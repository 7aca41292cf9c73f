import { describe, expect, it } from 'vitest';
import { revisitSchema } from '../../../config/schema.js';
import type { FramePosition } from '../../../core/types.js';
import type { Box, SemanticLabel } from '../../../detectors/contract.js';
import type { Track } from '../../../pipeline/tracker.js';
import type { Hit, RuleZone } from '../../../rules/types.js';
import { DEFAULT_VEHICLE_PARAMS, emptyVehicleState, evaluateVehicle, haversineMeters, vehicleParams, type VehicleParams, type VehicleState } from '../../../rules/vehicle.js';
import { T, track, TZ as tz } from '../../helpers/factories.js';
import { offsetM } from '../../helpers/fixtures/telemetry.js';


const fence = (lon1: number, lat1: number, lon2: number, lat2: number) => ({
  type: 'Polygon' as const,
  coordinates: [[[lon1, lat1], [lon2, lat1], [lon2, lat2], [lon1, lat2], [lon1, lat1]] as [number, number][]],
});
const zone = (over: Partial<RuleZone> & Pick<RuleZone, 'id' | 'kind'>): RuleZone => ({ timezone: tz, ...over }) as RuleZone;

const noVending = zone({ id: 'nv', kind: 'no_vending', geofence: fence(121.48, 31.23, 121.484, 31.234), rules: { stall: { dwell: 120 } } });
const legalStall = zone({ id: 'night-market', kind: 'legal_stall', geofence: fence(121.481, 31.2316, 121.4815, 31.232), openingHours: [{ days: [1, 2, 3, 4, 5, 6, 7], from: '18:00', to: '23:30' }] });
const shop = { id: 'shop-1', name: '福州路文具店' };

type Geo = { lat: number; lon: number };
const A: Geo = { lat: 31.2325, lon: 121.482 };
const north = (p: Geo, m: number): Geo => offsetM(p, 0, m);
const AWAY = north(A, 120); // still in the no_vending fence, well away from A
const IN_MARKET: Geo = { lat: 31.2318, lon: 121.48125 };
const fix = (p: Geo): FramePosition => ({ status: 'fix', lat: p.lat, lon: p.lon, gapMs: 100 });

/** A track first seen in the frame at `tMs`: on a moving camera stillness means nothing, only where and when. */
const sighting = (id: number, semantic: SemanticLabel, box: Box, tMs: number): Track => track(id, semantic, box, 0, { atMs: tMs, hits: 1 });
const cart = (t: number) => sighting(1, 'cart', [0.4, 0.5, 0.5, 0.7], t);
const vendor = (t: number) => sighting(2, 'person', [0.52, 0.4, 0.56, 0.72], t);
const stallScene = (t: number) => [cart(t), vendor(t)];

interface Step {
  sec: number;
  pos: FramePosition | undefined;
  tracks: (tMs: number) => Track[];
}

/** Sightings every second for `dur` seconds from `sec` at `at`, then the vehicle drives on (one frame away). */
const pass = (sec: number, at: Geo, dur = 5, scene: (t: number) => Track[] = stallScene): Step[] => [
  ...Array.from({ length: dur }, (_, i) => ({ sec: sec + i, pos: fix(at), tracks: scene })),
  { sec: sec + dur, pos: fix(AWAY), tracks: () => [] },
];

function drive(zones: RuleZone[], steps: Step[], params: VehicleParams = DEFAULT_VEHICLE_PARAMS, state: VehicleState = emptyVehicleState()) {
  const hits: Hit[] = [];
  let seq = 0;
  for (const s of [...steps].sort((a, b) => a.sec - b.sec)) {
    const tMs = T + s.sec * 1000;
    const r = evaluateVehicle({ cameraId: 'van', zones, tracks: s.tracks(tMs), position: s.pos, tMs, frame: { cameraId: 'van', seq: seq++, wallMs: tMs }, shadow: false }, state, params);
    state = r.state;
    hits.push(...r.hits);
  }
  return { hits, state };
}
const at = (h: Hit) => (h.atMs - T) / 1000;
const passSecs = (h: Hit) => h.passes!.map((p) => (p.atMs - T) / 1000);

describe('vehicle stalls: two passes at one place', () => {
  it('two passes at least the dwell apart at the same spot → one hit carrying both passes and the place', () => {
    const { hits } = drive([noVending], [...pass(0, A), ...pass(300, north(A, 6))]);
    expect(hits).toHaveLength(1);
    const h = hits[0]!;
    expect(h).toMatchObject({ type: 'stall', cameraId: 'van', zoneId: 'nv', firstSeenMs: T, dwellSec: 300, trackIds: [1, 2], shadow: false, box: [0.4, 0.5, 0.5, 0.7] });
    expect(h.objects.map((o) => o.semantic)).toEqual(['cart', 'person']);
    expect(at(h)).toBe(300);
    expect(h.passes).toEqual([{ atMs: T, seq: 0 }, { atMs: T + 300_000, seq: 6 }]);
    expect(haversineMeters(h.position!, A)).toBeLessThan(6);
  });

  it.each([
    ['one long pass: stopped at a light beside the stall for 10 min', [...pass(0, A, 600)]],
    ['one long pass with the detector losing the stall for 3 min while stopped', [...pass(0, A, 5).slice(0, 5), { sec: 100, pos: fix(A), tracks: () => [] }, ...pass(200, A, 5)]],
    ['two passes at different spots (60 m apart)', [...pass(0, A), ...pass(300, north(A, 60))]],
    ['a cart with nobody beside it', [...pass(0, A, 5, (t) => [cart(t)]), ...pass(300, A, 5, (t) => [cart(t)])]],
    ['a cart with a person far from it in the image', [...pass(0, A, 5, (t) => [cart(t), sighting(2, 'person', [0.9, 0.3, 0.95, 0.5], t)]), ...pass(300, A, 5, (t) => [cart(t), sighting(2, 'person', [0.9, 0.3, 0.95, 0.5], t)])]],
    ['a static-object region, meaningless on a moving camera', [...pass(0, A, 5, (t) => [sighting(1, 'static_object', [0.4, 0.5, 0.5, 0.7], t), vendor(t)]), ...pass(300, A, 5, (t) => [sighting(1, 'static_object', [0.4, 0.5, 0.5, 0.7], t), vendor(t)])]],
    ['a vendor and cart outside the no_vending geofence', [...pass(0, { lat: 31.2325, lon: 121.49 }), ...pass(300, { lat: 31.2325, lon: 121.49 })]],
    ['the second pass without a fix', [...pass(0, A), ...pass(300, A).map((s) => ({ ...s, pos: { status: 'no_fix', reason: 'gap' } as FramePosition }))]],
    ['the second pass with no position at all', [...pass(0, A), ...pass(300, A).map((s) => ({ ...s, pos: undefined }))]],
  ] as const)('%s → no hit', (_n, steps) => {
    expect(drive([noVending], [...steps]).hits).toEqual([]);
  });

  it('outside every geofence remembers nothing', () => {
    expect(drive([noVending], pass(0, { lat: 31.2325, lon: 121.49 })).state.spots).toEqual([]);
  });

  it('frames without a fix neither sight nor end a pass', () => {
    const noFix: FramePosition = { status: 'no_fix', reason: 'no fix within 5 s' };
    // the vehicle sits at A; a GNSS gap in between is not evidence that it left
    const steps: Step[] = [...pass(0, A, 5).slice(0, 5), { sec: 100, pos: noFix, tracks: stallScene }, { sec: 200, pos: fix(A), tracks: stallScene }];
    const { hits, state } = drive([noVending], steps);
    expect(hits).toEqual([]);
    expect(state.spots).toHaveLength(1);
    expect(state.spots[0]).toMatchObject({ passCount: 1, sightings: 6, trail: [A] });
  });

  it('a second pass before the dwell does not fire; the first sighting after the dwell does', () => {
    const dwell300 = { ...noVending, rules: { stall: { dwell: 300 } } };
    const early = drive([dwell300], [...pass(0, A), ...pass(120, A)]);
    expect(early.hits).toEqual([]);
    // the second pass is a long stop from 250 s to 320 s: it fires at 300 s, once
    const { hits } = drive([dwell300], [...pass(0, A), ...pass(250, A, 70)]);
    expect(hits.map(at)).toEqual([300]);
    expect(passSecs(hits[0]!)).toEqual([0, 250]);
    // or a third pass, later
    const third = drive([dwell300], [...pass(0, A), ...pass(120, A), ...pass(400, A)]);
    expect(third.hits.map(at)).toEqual([400]);
    expect(passSecs(third.hits[0]!)).toEqual([0, 120, 400]);
  });

  it('a new pass needs newPassAfterSec since the last sighting: round the block in 40 s is the same pass', () => {
    const { hits, state } = drive([noVending], [...pass(0, A), ...pass(45, A), ...pass(130, A)]);
    expect(state.spots[0]!.passCount).toBe(2);
    expect(hits.map(at)).toEqual([130]);
    expect(passSecs(hits[0]!)).toEqual([0, 130]);
  });

  it('fires once per spot: a third pass does not re-alert; another spot in the zone does', () => {
    const B = north(A, -80);
    const { hits } = drive([noVending], [...pass(0, A), ...pass(300, A), ...pass(600, A), ...pass(610, B), ...pass(900, B)]);
    expect(hits.map(at)).toEqual([300, 900]);
    expect(haversineMeters(hits[1]!.position!, B)).toBeLessThan(1);
  });

  it('a pass seeing the stall along 70 m of road is one spot, and a pass from the other direction joins it', () => {
    const drift = (sec: number, from: number, step: number): Step[] => [
      ...Array.from({ length: 8 }, (_, i) => ({ sec: sec + i, pos: fix(north(A, from + i * step)), tracks: stallScene })),
      { sec: sec + 8, pos: fix(north(A, -200)), tracks: () => [] },
    ];
    const { hits, state } = drive([noVending], [...drift(0, 0, 10), ...drift(300, 70, -10)]);
    expect(state.spots).toHaveLength(1);
    expect(state.spots[0]!.trail.length).toBeLessThanOrEqual(DEFAULT_VEHICLE_PARAMS.maxTrail);
    expect(hits.map(at)).toEqual([300]);
    expect(haversineMeters(hits[0]!.position!, north(A, 35))).toBeLessThan(5);
  });

  it('a legal stall point exempts vending during its opening hours, not after them', () => {
    const evening = (h: number, m: number) => (Date.UTC(2026, 10, 27, h - 8, m) - T) / 1000;
    const open = drive([noVending, legalStall], [...pass(evening(19, 0), IN_MARKET), ...pass(evening(19, 10), IN_MARKET)]);
    expect(open.hits).toEqual([]);
    expect(open.state.spots).toEqual([]);
    const closed = drive([noVending, legalStall], [...pass(evening(23, 40), IN_MARKET), ...pass(evening(23, 50), IN_MARKET)]);
    expect(closed.hits.map(at)).toEqual([evening(23, 50)]);
    // outside the market's fence it is a stall at any hour
    expect(drive([noVending, legalStall], [...pass(evening(19, 0), A), ...pass(evening(19, 10), A)]).hits).toHaveLength(1);
  });

  it('a rule outside its activeHours sights nothing', () => {
    const evenings = { ...noVending, rules: { stall: { dwell: 120, activeHours: [{ days: [1, 2, 3, 4, 5, 6, 7], from: '17:00', to: '22:00' }] } } };
    expect(drive([evenings], [...pass(0, A), ...pass(300, A)]).hits).toEqual([]);
  });

  it('ignores objects in an image mask (the bonnet) and everything inside a mask geofence', () => {
    const bonnet = zone({ id: 'bonnet', kind: 'mask', polygon: [[0, 0.6], [1, 0.6], [1, 1], [0, 1]] });
    expect(drive([noVending, bonnet], [...pass(0, A), ...pass(300, A)]).hits).toEqual([]);
    const depot = zone({ id: 'depot', kind: 'mask', geofence: fence(121.4815, 31.232, 121.4825, 31.233) });
    expect(drive([noVending, depot], [...pass(0, A), ...pass(300, A)]).hits).toEqual([]);
  });

  it('forgets a spot not seen for forgetAfterSec, then starts afresh', () => {
    const params = vehicleParams({ sameSpotMeters: 25, newPassAfterSec: 60, forgetAfterSec: 600 });
    const { hits } = drive([noVending], [...pass(0, A), ...pass(700, A), ...pass(900, A)], params);
    expect(hits.map(at)).toEqual([900]);
    expect(hits[0]!.firstSeenMs).toBe(T + 700_000);
    expect(drive([noVending], pass(0, A), params).state.spots).toHaveLength(1);
    expect(drive([noVending], [...pass(0, A), { sec: 606, pos: { status: 'no_fix', reason: 'x' }, tracks: () => [] }], params).state.spots).toEqual([]);
  });

  it('keeps at most maxSpots spots, dropping the least recently seen', () => {
    const params = { ...DEFAULT_VEHICLE_PARAMS, maxSpots: 2 };
    const spots = [0, 1, 2].map((i) => north(A, -i * 100));
    const { state, hits } = drive([noVending], [...pass(0, spots[0]!), ...pass(10, spots[1]!), ...pass(20, spots[2]!), ...pass(300, spots[0]!)], params);
    expect(hits).toEqual([]); // the first spot was dropped before its second pass
    expect(state.spots).toHaveLength(2);
  });

  it('keeps the first and the latest pass starts when there are many, counting all', () => {
    const params = { ...DEFAULT_VEHICLE_PARAMS, maxPassesKept: 3 };
    const long = { ...noVending, rules: { stall: { dwell: 3600 } } };
    const steps = Array.from({ length: 6 }, (_, i) => pass(i * 100, A)).flat();
    const { state } = drive([long], steps, params);
    expect(state.spots[0]!.passCount).toBe(6);
    expect(state.spots[0]!.passes.map((p) => (p.atMs - T) / 1000)).toEqual([0, 400, 500]);
  });

  it('does not mutate the state it is given', () => {
    const first = drive([noVending], pass(0, A));
    const snapshot = structuredClone(first.state);
    drive([noVending], pass(300, A), DEFAULT_VEHICLE_PARAMS, first.state);
    expect(first.state).toEqual(snapshot);
  });
});

describe('vehicle stacking and door_front', () => {
  const goods = (t: number) => [sighting(5, 'goods', [0.2, 0.6, 0.3, 0.8], t)];
  it('goods at one place on two passes are stacking; a lone static object is not', () => {
    const noStacking = zone({ id: 'ns', kind: 'no_stacking', geofence: noVending.geofence!, rules: { stacking: { dwell: 120 } } });
    expect(drive([noStacking], [...pass(0, A, 3, goods), ...pass(300, A, 3, goods)]).hits).toEqual([expect.objectContaining({ type: 'stacking', zoneId: 'ns', trackIds: [5] })]);
    const region = (t: number) => [sighting(5, 'static_object', [0.2, 0.6, 0.3, 0.8], t)];
    expect(drive([noStacking], [...pass(0, A, 3, region), ...pass(300, A, 3, region)]).hits).toEqual([]);
  });

  it('a table outside a shop on two passes is door_front and names the shop', () => {
    const frontage = zone({ id: 'sf', kind: 'shopfront', shop, geofence: noVending.geofence!, rules: { door_front: { dwell: 120 } } });
    const table = (t: number) => [sighting(6, 'table', [0.2, 0.6, 0.3, 0.8], t)];
    const { hits } = drive([frontage], [...pass(0, A, 3, table), ...pass(300, A, 3, table)]);
    expect(hits).toEqual([expect.objectContaining({ type: 'door_front', zoneId: 'sf', shop, trackIds: [6] })]);
  });
});

describe('revisit config', () => {
  it('defaults: 25 m, 60 s, 4 h; a partial object keeps the other defaults', () => {
    expect(revisitSchema.parse({})).toEqual({ sameSpotMeters: 25, newPassAfterSec: 60, forgetAfterSec: 14_400 });
    expect(vehicleParams(undefined)).toEqual(DEFAULT_VEHICLE_PARAMS);
    expect(vehicleParams({ sameSpotMeters: 40 } as never)).toMatchObject({ sameSpotMeters: 40, newPassAfterSec: 60 });
    expect(revisitSchema.safeParse({ sameSpotMeters: 0 }).success).toBe(false);
    expect(revisitSchema.safeParse({ forgetAfterSec: 10, extra: 1 }).success).toBe(false);
  });

  it('haversine: 0.001° of latitude is about 111 m', () => {
    expect(haversineMeters({ lat: 31.23, lon: 121.48 }, { lat: 31.231, lon: 121.48 })).toBeCloseTo(111.2, 0);
  });
});
