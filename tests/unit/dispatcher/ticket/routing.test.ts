import { describe, expect, it } from 'vitest';
import { dispatchSchema, routingSchema } from '../../../../config/dispatch.js';
import { isStreetwatchError } from '../../../../core/errors.js';
import { resolveRoute, type RouteInput } from '../../../../dispatcher/ticket/routing.js';
import { exampleDispatch as dispatch } from '../../../../dispatcher/ticket/example.js';

const routing = dispatch.routing;

describe('resolveRoute', () => {
  it.each<[string, RouteInput, string, string | undefined, string]>([
    ['zone listed in zoneJurisdiction wins over the camera', { cameraId: 'cam-map', zoneId: 'east-kerb' }, 'sq-ndl', 'nanjingdong', 'zone'],
    ['zone listed, even over location.jurisdiction', { cameraId: 'cam-map', zoneId: 'east-kerb', cameraJurisdiction: 'waitan' }, 'sq-ndl', 'nanjingdong', 'zone'],
    ['a zone id listed for another camera does not apply', { cameraId: 'cam-x', zoneId: 'east-kerb', cameraJurisdiction: 'waitan' }, 'sq-wt', 'waitan', 'camera_location'],
    ['camera location.jurisdiction', { cameraId: 'cam-x', zoneId: 'z', cameraJurisdiction: 'nanjingdong' }, 'sq-ndl', 'nanjingdong', 'camera_location'],
    ['location.jurisdiction before cameraJurisdiction', { cameraId: 'cam-map', zoneId: 'other', cameraJurisdiction: 'nanjingdong' }, 'sq-ndl', 'nanjingdong', 'camera_location'],
    ['cameraJurisdiction map', { cameraId: 'cam-map', zoneId: 'other' }, 'sq-wt', 'waitan', 'camera_map'],
    ['no jurisdiction → default squad', { cameraId: 'patrol-1', zoneId: 'geofence-1' }, 'sq-mobile', undefined, 'default'],
    ['no zone at all → default squad', { cameraId: 'patrol-1' }, 'sq-mobile', undefined, 'default'],
  ])('%s', (_name, inp, squad, jurisdiction, via) => {
    const r = resolveRoute(routing, inp);
    expect({ squad: r.squad.id, jurisdiction: r.jurisdiction?.id, via: r.via }).toEqual({ squad, jurisdiction, via });
  });

  it('an unknown jurisdiction is a coded error naming it, not a silent default', () => {
    try {
      resolveRoute(routing, { cameraId: 'cam-x', cameraJurisdiction: 'renminguangchang' });
      expect.unreachable();
    } catch (e) {
      expect(isStreetwatchError(e, 'DISPATCH_NO_ROUTE')).toBe(true);
      expect((e as Error).message).toMatch(/camera 'cam-x'.*'renminguangchang'.*not in dispatch\.routing\.jurisdictions \(nanjingdong, waitan\)/);
    }
  });

  it('a squad id missing from squads (config built without the schema) is a coded error', () => {
    const broken = { ...routing, defaultSquad: 'sq-gone' };
    expect(() => resolveRoute(broken, { cameraId: 'c' })).toThrow(/squad 'sq-gone', which is not in dispatch.routing.squads/);
  });
});

describe('routing config: zoneJurisdiction', () => {
  const base = { squads: [{ id: 's1', name: 'S1' }], jurisdictions: [{ id: 'j1', name: 'J1', squad: 's1' }], defaultSquad: 's1' };
  const issues = (v: unknown) => {
    const r = routingSchema.safeParse(v);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('accepts known jurisdictions; is optional', () => {
    expect(issues({ ...base, zoneJurisdiction: [{ camera: 'c1', zone: 'z1', jurisdiction: 'j1' }] })).toEqual([]);
    expect(dispatchSchema.parse({ routing: base }).routing.zoneJurisdiction).toBeUndefined();
  });

  it('rejects an unknown jurisdiction and a zone listed twice', () => {
    expect(
      issues({
        ...base,
        zoneJurisdiction: [
          { camera: 'c1', zone: 'z1', jurisdiction: 'j9' },
          { camera: 'c1', zone: 'z1', jurisdiction: 'j1' },
        ],
      }),
    ).toEqual(["zoneJurisdiction.0.jurisdiction: jurisdiction 'j9' is not in routing.jurisdictions (j1)", "zoneJurisdiction.1: zone 'z1' of camera 'c1' is listed twice"]);
  });
});
