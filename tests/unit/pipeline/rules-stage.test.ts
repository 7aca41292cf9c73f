import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createMetrics } from '../../../core/metrics.js';
import type { Frame, FramePosition } from '../../../core/types.js';
import type { Detection } from '../../../detectors/contract.js';
import type { FrameDetections } from '../../../pipeline/detect-stage.js';
import { RulesStage } from '../../../pipeline/rules-stage.js';
import type { Hit } from '../../../rules/types.js';
import { detection, fileCamera, frame, testConfig } from '../../helpers/factories.js';
import { memoryLogger } from '../../helpers/pipeline.js';

const config = testConfig({
  cameras: [fileCamera('cam', { zones: [{ id: 'ns', kind: 'no_stacking', polygon: [[0, 0.5], [1, 0.5], [1, 1], [0, 1]], rules: { stacking: { dwell: 20 } } }] })],
});
/** Frame `seq` of camera `cameraId`, one a second: the rules count dwell in wall time. */
const second = (seq: number, cameraId = 'cam'): Frame => frame(cameraId, seq, { wallMs: 1_800_000_000_000 + seq * 1000 });
const crate = (jitter: number): Detection => detection([0.3 + jitter, 0.6, 0.4, 0.8 + jitter], 'static_object', { score: 0.9 });

describe('RulesStage', () => {
  it('turns 30 s of a jittering static object into exactly one stacking hit, and shadow detections into shadow hits', async () => {
    const metrics = createMetrics(new Registry());
    const hits: unknown[] = [];
    const stage = new RulesStage({ metrics, log: memoryLogger().log, onHit: (h) => void hits.push(h) });
    stage.apply(config);
    for (let s = 0; s <= 30; s++) {
      const fd: FrameDetections = {
        frame: second(s),
        results: [
          { detector: 'static-object', version: '1', mode: 'active', detections: [crate((s % 3) * 0.003)] },
          { detector: 'candidate', version: '1', mode: 'shadow', detections: s > 5 ? [{ ...crate(0), box: [0.6, 0.6, 0.7, 0.8] }] : [] },
        ],
        failed: [],
        skipped: [],
      };
      await stage.process(fd);
    }
    const active = hits.filter((h) => !(h as { shadow: boolean }).shadow);
    const shadow = hits.filter((h) => (h as { shadow: boolean }).shadow);
    expect(active).toEqual([expect.objectContaining({ type: 'stacking', zoneId: 'ns', dwellSec: 20, frame: expect.objectContaining({ seq: 20 }) })]);
    // the shadow view sees both objects; the second one (from the shadow detector) has stood 20 s by seq 26
    expect(shadow.map((h) => (h as { frame: { seq: number } }).frame.seq).sort((a, b) => a - b)).toEqual([20, 26]);
    expect(await metrics.registry.metrics()).toMatch(/streetwatch_hits_total\{camera="cam",type="stacking",zone="ns",shadow="false"\} 1/);
  });

  it('routes a vehicle camera to the two-pass reducer: one hit on the second pass at one place, none on the first', async () => {
    const ring = [[121.48, 31.23], [121.484, 31.23], [121.484, 31.234], [121.48, 31.234], [121.48, 31.23]] as [number, number][];
    const vehicleConfig = testConfig({
      cameras: [{
        id: 'van',
        source: { kind: 'vehicle', video: { kind: 'file', path: '/x.mp4' }, telemetry: { path: '/x.nmea' }, revisit: { sameSpotMeters: 20 } },
        zones: [{ id: 'nv', kind: 'no_vending', geofence: { type: 'Polygon', coordinates: [ring] }, rules: { stall: { dwell: 120 } } }],
      }],
    });
    const hits: Hit[] = [];
    const stage = new RulesStage({ metrics: createMetrics(new Registry()), log: memoryLogger().log, onHit: (h) => void hits.push(h) });
    stage.apply(vehicleConfig);
    const stall: Detection[] = [
      detection([0.4, 0.5, 0.5, 0.7], 'cart', { score: 0.9 }),
      detection([0.52, 0.4, 0.56, 0.72], 'person', { score: 0.9 }),
    ];
    const at = (lat: number): FramePosition => ({ status: 'fix', lat, lon: 121.482, gapMs: 0 });
    const send = (sec: number, position: FramePosition | undefined, dets: Detection[]) =>
      stage.process({ frame: { ...second(sec, 'van'), ...(position ? { position } : {}) }, results: [{ detector: 'yolox', version: '1', mode: 'active', detections: dets }], failed: [], skipped: [] });
    // first pass: the stall for 5 s, then the vehicle drives on
    for (let s = 0; s < 5; s++) await send(s, at(31.2325), stall);
    await send(5, at(31.2335), []);
    // frames without a fix sight nothing, even at the spot
    for (let s = 200; s < 205; s++) await send(s, { status: 'no_fix', reason: 'gap' }, stall);
    expect(hits).toEqual([]);
    // second pass 300 s later, a few metres off
    for (let s = 300; s < 305; s++) await send(s, at(31.23255), stall);
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ type: 'stall', cameraId: 'van', zoneId: 'nv', dwellSec: 300, frame: { seq: 300 }, passes: [{ seq: 0 }, { seq: 300 }] });
    expect(hits[0]!.position!.lat).toBeCloseTo(31.2325, 4);
  });

  it('firstSightingMs: when what stands in a zone was first seen still — what the ring keeps video from', async () => {
    const stage = new RulesStage({ metrics: createMetrics(new Registry()), log: memoryLogger().log });
    stage.apply(config);
    expect(stage.firstSightingMs('cam')).toBeUndefined(); // nothing seen yet
    expect(stage.firstSightingMs('nobody')).toBeUndefined();
    const at = (s: number, dets: Detection[]): FrameDetections => ({ frame: second(s), results: [{ detector: 'static-object', version: '1', mode: 'active', detections: dets }], failed: [], skipped: [] });
    // above the zone (it covers the lower half of the image): no pin
    for (let s = 0; s < 5; s++) await stage.process(at(s, [detection([0.3, 0.1, 0.4, 0.3], 'static_object', { score: 0.9 })]));
    expect(stage.firstSightingMs('cam')).toBeUndefined();
    // a crate in the zone from second 5 on: pinned at its first still sighting
    for (let s = 5; s < 12; s++) await stage.process(at(s, [detection([0.3, 0.1, 0.4, 0.3], 'static_object', { score: 0.9 }), crate(0)]));
    expect(stage.firstSightingMs('cam')).toBe(second(5).wallMs);
    // gone long enough for the tracker to drop it: nothing pinned again
    for (let s = 12; s < 40; s++) await stage.process(at(s, []));
    expect(stage.firstSightingMs('cam')).toBeUndefined();
  });
});
