import { describe, expect, it } from 'vitest';
import type { Box } from '../../../detectors/contract.js';
import type { Track } from '../../../pipeline/tracker.js';
import { evaluateRules, FIRED_MEMORY_MS } from '../../../rules/engine.js';
import type { FiredMap, RuleZone } from '../../../rules/types.js';
import { T, track, TZ as tz } from '../../helpers/factories.js';

const left: [number, number][] = [[0, 0.5], [0.5, 0.5], [0.5, 1], [0, 1]];
const right: [number, number][] = [[0.5, 0.5], [1, 0.5], [1, 1], [0.5, 1]];

const zone = (over: Partial<RuleZone> & Pick<RuleZone, 'id' | 'kind'>): RuleZone => ({ polygon: left, timezone: tz, ...over }) as RuleZone;
const run = (zones: RuleZone[], tracks: Track[], fired: FiredMap = new Map(), tMs = T) =>
  evaluateRules({ cameraId: 'cam', zones, tracks, tMs, frame: { cameraId: 'cam', seq: 7, wallMs: tMs }, shadow: false }, fired);

const box: Box = [0.2, 0.6, 0.3, 0.8];
const noStacking = zone({ id: 'ns', kind: 'no_stacking', rules: { stacking: { dwell: 20 } } });
const shop = { id: 'shop-1', name: '老王水果店' };
const frontage = zone({ id: 'sf', kind: 'shopfront', shop, rules: { door_front: { dwell: 30, activeHours: [{ days: [1, 2, 3, 4, 5, 6, 7], from: '08:00', to: '21:00' }] } } });
const noVending = zone({ id: 'nv', kind: 'no_vending', rules: { stall: { dwell: 30 } } });

describe('stacking', () => {
  it.each([
    ['goods still past the dwell', [track(1, 'goods', box, 25)], 1],
    ['a static object still past the dwell', [track(1, 'static_object', box, 25)], 1],
    ['goods still less than the dwell', [track(1, 'goods', box, 15)], 0],
    ['a person standing there', [track(1, 'person', box, 300)], 0],
    ['a parked car', [track(1, 'vehicle', box, 300)], 0],
    ['a static region that is a person standing', [track(1, 'static_object', box, 60), track(2, 'person', [0.19, 0.55, 0.31, 0.8], 60)], 0],
    ['a pile with a passer-by walking over it', [track(1, 'static_object', box, 60), track(2, 'person', [0.19, 0.55, 0.31, 0.8], 1)], 1],
    ['a static region a person stood on in most frames (detected now and then)', [track(1, 'static_object', box, 60, { personCover: { frames: 40, covered: 24, sinceMs: T - 50_000 } })], 0],
    ['a pile walkers crossed in a few frames', [track(1, 'static_object', box, 60, { personCover: { frames: 40, covered: 6, sinceMs: T - 50_000 } })], 1],
    ['a static region too new to judge by person cover (counted for 4 s)', [track(1, 'static_object', box, 25, { personCover: { frames: 8, covered: 8, sinceMs: T - 4000 } })], 1],
    ['a static region a person covered in each of its 3 looks, 4 s apart', [track(1, 'static_object', box, 25, { personCover: { frames: 3, covered: 3, sinceMs: T - 8000 } })], 0],
    ['a static region seen in only 2 looks (not established yet)', [track(1, 'static_object', box, 25, { hits: 2 })], 0],
    ['goods seen in only 2 looks (a named object needs no more)', [track(1, 'goods', box, 25, { hits: 2 })], 1],
    ['a pile and a person lost a while ago at its place', [track(1, 'static_object', box, 60), track(2, 'person', [0.19, 0.55, 0.31, 0.8], 60, { lastSeenMs: T - 4000 })], 1],
    ['goods outside the zone', [track(1, 'goods', [0.6, 0.6, 0.7, 0.8], 60)], 0],
    ['goods not seen in this frame', [track(1, 'goods', box, 60, { lastSeenMs: T - 2000 })], 0],
  ] as const)('%s → %i hit(s)', (_n, tracks, want) => {
    expect(run([noStacking], [...tracks]).hits.length).toBe(want);
  });

  it('ignores objects in a mask zone', () => {
    const mask = zone({ id: 'm', kind: 'mask', polygon: [[0.15, 0.7], [0.35, 0.7], [0.35, 0.9], [0.15, 0.9]] });
    expect(run([noStacking, mask], [track(1, 'goods', box, 60)]).hits).toEqual([]);
  });

  it('fires once per object: a jittering still object does not re-alert', () => {
    const first = run([noStacking], [track(1, 'goods', box, 25)]);
    expect(first.hits[0]).toMatchObject({ type: 'stacking', zoneId: 'ns', trackIds: [1], dwellSec: 25, firstSeenMs: T - 25_000, frame: { seq: 7 } });
    const again = run([noStacking], [track(1, 'goods', [0.201, 0.601, 0.3, 0.8], 26)], first.fired, T + 1000);
    expect(again.hits).toEqual([]);
    // a different object elsewhere in the zone still fires; one at the same spot is the same violation
    expect(run([noStacking], [track(1, 'goods', box, 26), track(2, 'goods', [0.4, 0.6, 0.5, 0.9], 30)], first.fired).hits.map((h) => h.trackIds)).toEqual([[2]]);
    expect(run([noStacking], [track(3, 'goods', [0.21, 0.62, 0.31, 0.8], 30)], first.fired).hits).toEqual([]);
    // two boxes of one pile in the same frame: one hit
    expect(run([noStacking], [track(1, 'goods', box, 26), track(2, 'goods', [0.25, 0.65, 0.32, 0.8], 26)]).hits.length).toBe(1);
    // a pile reported as a chain of pieces (each near the next, the ends far apart) in the same frame: one hit,
    // and a later piece near the far end is still the same violation
    const pieces = [track(1, 'static_object', [0.2, 0.77, 0.225, 0.8], 25), track(2, 'static_object', [0.113, 0.8, 0.131, 0.9], 25), track(3, 'static_object', [0.156, 0.82, 0.175, 0.87], 25)];
    const chained = run([noStacking], pieces);
    expect(chained.hits.map((h) => h.trackIds)).toEqual([[1]]);
    expect(run([noStacking], [track(4, 'static_object', [0.09, 0.8, 0.11, 0.9], 30)], chained.fired).hits).toEqual([]);
    expect(run([noStacking], [track(1, 'goods', box, 26), track(2, 'goods', [0.25, 0.65, 0.32, 0.8], 26)]).hits.length).toBe(1);
  });

  it('a pile whose track vanished for a while (hidden, then found again as a new track) does not alert again; after FIRED_MEMORY_MS it may', () => {
    const first = run([noStacking], [track(1, 'static_object', box, 25)]);
    expect(first.hits).toHaveLength(1);
    // the tracker dropped it: nothing at T + 20 s
    const hidden = run([noStacking], [], first.fired, T + 20_000);
    expect(hidden.fired.size).toBe(1);
    // found again at T + 28 s as track 9, still since long ago: the same violation
    const back = run([noStacking], [track(9, 'static_object', box, 40, { atMs: T + 28_000 })], hidden.fired, T + 28_000);
    expect(back.hits).toEqual([]);
    // gone for longer than FIRED_MEMORY_MS: forgotten, and a pile there later is a new violation
    const gone = run([noStacking], [], first.fired, T + FIRED_MEMORY_MS + 1000);
    expect(gone.fired.size).toBe(0);
    expect(run([noStacking], [track(9, 'static_object', box, 25, { atMs: T + 40_000 })], gone.fired, T + 40_000).hits).toHaveLength(1);
  });
});

describe('door_front', () => {
  it('goods in the frontage during business hours name the shop', () => {
    const [hit] = run([frontage], [track(1, 'table', box, 40)]).hits;
    expect(hit).toMatchObject({ type: 'door_front', zoneId: 'sf', shop });
  });
  it('outside business hours is not a violation', () => {
    expect(run([frontage], [track(1, 'table', box, 40)], new Map(), T + 12 * 3600_000).hits).toEqual([]);
  });
  it('a person standing in the frontage is not door-front trading', () => {
    expect(run([frontage], [track(1, 'person', box, 400)]).hits).toEqual([]);
  });
});

describe('stall', () => {
  const umbrella = track(1, 'umbrella', box, 45);
  const vendor = track(2, 'person', [0.3, 0.55, 0.34, 0.8], 40, { stillSinceMs: T - 5000 });
  const legal = (hours: { from: string; to: string }) => zone({ id: 'lp', kind: 'legal_stall', polygon: [[0.1, 0.5], [0.4, 0.5], [0.4, 0.95], [0.1, 0.95]], openingHours: [{ days: [1, 2, 3, 4, 5, 6, 7], ...hours }] });

  it('a stall-like object with a vendor beside it, still past the dwell → one hit naming both tracks', () => {
    const [hit] = run([noVending], [umbrella, vendor]).hits;
    expect(hit).toMatchObject({ type: 'stall', zoneId: 'nv', trackIds: [1, 2] });
  });
  it.each([
    ['no person near', [umbrella, track(2, 'person', [0.45, 0.55, 0.49, 0.6], 40)]],
    ['a person who just arrived', [umbrella, track(2, 'person', [0.3, 0.55, 0.34, 0.8], 3)]],
    ['a person waiting at a bench (no stall-like object)', [track(1, 'bench', box, 300), vendor]],
    ['the object has not stayed the dwell', [track(1, 'umbrella', box, 20), vendor]],
  ] as const)('no hit: %s', (_n, tracks) => {
    expect(run([noVending], [...tracks]).hits).toEqual([]);
  });
  it('inside a legal stall point during its hours is allowed; after hours it is a violation', () => {
    expect(run([noVending, legal({ from: '08:00', to: '20:00' })], [umbrella, vendor]).hits).toEqual([]);
    expect(run([noVending, legal({ from: '17:00', to: '22:00' })], [umbrella, vendor]).hits.length).toBe(1);
  });
});

describe('rule windows', () => {
  it('a rule outside its activeHours does not fire', () => {
    const night = zone({ id: 'ns', kind: 'no_stacking', rules: { stacking: { dwell: 20, activeHours: [{ days: [1, 2, 3, 4, 5, 6, 7], from: '22:00', to: '06:00' }] } } });
    expect(run([night], [track(1, 'goods', box, 60)]).hits).toEqual([]);
  });
  it('shadow input marks its hits shadow', () => {
    const r = evaluateRules({ cameraId: 'cam', zones: [noStacking], tracks: [track(1, 'goods', box, 25)], tMs: T, frame: { cameraId: 'cam', seq: 1, wallMs: T }, shadow: true }, new Map());
    expect(r.hits[0]!.shadow).toBe(true);
  });
  it('zones on the right do not see objects on the left', () => {
    expect(run([{ ...noStacking, polygon: right }], [track(1, 'goods', box, 60)]).hits).toEqual([]);
  });
});
