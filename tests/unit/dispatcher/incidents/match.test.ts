import { describe, expect, it } from 'vitest';
import { decide, extendIncident, incidentFromHit, samePlace } from '../../../../dispatcher/incidents/match.js';
import type { Incident } from '../../../../dispatcher/incidents/types.js';
import { hit, incident as open, MATCH_PARAMS as P, MIN, T } from '../../../helpers/factories.js';

describe('samePlace', () => {
  it.each([
    ['the same spot', hit(1), true],
    ['a box a little off (re-found after a miss)', hit(1, {}, [0.22, 0.61, 0.33, 0.8]), true],
    ['another pile across the zone', hit(1, {}, [0.6, 0.6, 0.7, 0.8]), false],
    ['a piece of it reported first, just below', hit(1, {}, [0.22, 0.84, 0.245, 0.9]), true],
    ['another type at the same spot', hit(1, { type: 'door_front' }), false],
    ['another zone', hit(1, { zoneId: 'z2' }), false],
    ['another camera, no shared site', hit(1, { cameraId: 'cam-b' }), false],
  ])('%s', (_n, h, want) => {
    expect(samePlace(h, open(), P)).toBe(want);
  });

  it('zones of two cameras sharing a site are one place, whatever the boxes', () => {
    const inc = open({ site: 'corner-7' });
    expect(samePlace(hit(1, { cameraId: 'cam-b', zoneId: 'zb', site: 'corner-7' }, [0.7, 0.1, 0.8, 0.2]), inc, P)).toBe(true);
    expect(samePlace(hit(1, { cameraId: 'cam-b', zoneId: 'zb', site: 'corner-8' }), inc, P)).toBe(false);
    expect(samePlace(hit(1), inc, P)).toBe(false); // a site incident and a hit without one
  });

  it('vehicle hits are the same place within sameSpotMeters', () => {
    const inc = open({ position: { lat: 31.2304, lon: 121.4737 } });
    expect(samePlace(hit(1, { position: { lat: 31.2305, lon: 121.4737 } }), inc, P)).toBe(true); // ~11 m
    expect(samePlace(hit(1, { position: { lat: 31.231, lon: 121.4737 } }), inc, P)).toBe(false); // ~67 m
  });
});

describe('decide', () => {
  const resolved = (closedMin: number) => open({ state: 'resolved', closedMs: T + closedMin * MIN });
  it.each([
    ['nothing there: a new incident', [], hit(1), { kind: 'create' }],
    ['an open incident there: extend it', [open()], hit(5), { kind: 'extend', incidentId: 'inc-1' }],
    ['a dispatched one too', [open({ state: 'dispatched' })], hit(5), { kind: 'extend', incidentId: 'inc-1' }],
    ['resolved 10 min ago (cool-down 30): suppressed', [resolved(10)], hit(20), { kind: 'suppress', incidentId: 'inc-1', reason: 'cooldown' }],
    ['resolved 40 min ago: a recurrence', [resolved(10)], hit(50), { kind: 'create', recurrenceOf: 'inc-1' }],
    ['rejected as a false positive 40 min ago: new, not a recurrence', [open({ state: 'rejected', closedMs: T + 10 * MIN })], hit(50), { kind: 'create' }],
    ['an open one elsewhere only: new', [open()], hit(5, {}, [0.6, 0.6, 0.7, 0.8]), { kind: 'create' }],
  ])('%s', (_n, incidents, h, want) => {
    expect(decide(h, incidents as Incident[], P)).toEqual(want);
  });

  it('the newest incident at the place decides (an old resolved one does not hide an open recurrence)', () => {
    const old = open({ id: 'old', state: 'resolved', closedMs: T + 5 * MIN });
    const recurrence = open({ id: 'new', confirmedMs: T + 60 * MIN, recurrenceOf: 'old' });
    expect(decide(hit(70), [old, recurrence], P)).toEqual({ kind: 'extend', incidentId: 'new' });
  });
});

describe('incidents from hits', () => {
  it('extending keeps the first sighting, moves the latest, and collects cameras, detectors and tracks', () => {
    const inc = incidentFromHit('inc-1', hit(0), T);
    expect(inc).toMatchObject({ id: 'inc-1', state: 'confirmed', hits: 1, firstSeenMs: T - 20_000, confirmedMs: T, lastSeenMs: T, detectors: ['static-object'] });
    const later = extendIncident(inc, hit(3, { cameraId: 'cam-b', trackIds: [9], objects: [{ trackId: 9, semantic: 'goods', detector: 'yolox-nano-416' }] }), T + 3 * MIN);
    expect(later).toMatchObject({ hits: 2, firstSeenMs: T - 20_000, confirmedMs: T, lastSeenMs: T + 3 * MIN, cameras: ['cam-a', 'cam-b'], trackIds: [1, 9], detectors: ['static-object', 'yolox-nano-416'], dwellSec: 200 });
    expect(later.frames).toEqual({ confirmed: inc.frames.confirmed, latest: { cameraId: 'cam-b', seq: 3, wallMs: T + 3 * MIN } });
    // the box grows around the hits of its own camera only
    expect(later.box).toEqual([0.2, 0.6, 0.3, 0.8]);
    expect(extendIncident(inc, hit(2, {}, [0.25, 0.55, 0.35, 0.8]), T).box).toEqual([0.2, 0.55, 0.35, 0.8]);
    // a late, older hit does not move the latest frame back
    expect(extendIncident(later, hit(1), T + 4 * MIN).frames.latest.seq).toBe(3);
  });
});
