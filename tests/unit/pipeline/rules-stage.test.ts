import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { configSchema } from '../../../config/schema.js';
import { createMetrics } from '../../../core/metrics.js';
import type { Frame } from '../../../core/types.js';
import type { Detection } from '../../../detectors/contract.js';
import type { FrameDetections } from '../../../pipeline/detect-stage.js';
import { RulesStage } from '../../../pipeline/rules-stage.js';
import { memoryLogger } from '../../helpers/pipeline.js';

const config = configSchema.parse({
  version: 1,
  cameras: [{
    id: 'cam', source: { kind: 'file', path: '/x.mp4' },
    zones: [{ id: 'ns', kind: 'no_stacking', polygon: [[0, 0.5], [1, 0.5], [1, 1], [0, 1]], rules: { stacking: { dwell: 20 } } }],
  }],
});
const frame = (seq: number): Frame => ({ cameraId: 'cam', seq, ptsSec: seq, wallMs: 1_800_000_000_000 + seq * 1000, width: 1, height: 1, format: 'rgb24', data: Buffer.alloc(3) });
const crate = (jitter: number): Detection => ({ box: [0.3 + jitter, 0.6, 0.4, 0.8 + jitter], score: 0.9, label: 'static_object', semantic: 'static_object' });

describe('RulesStage', () => {
  it('turns 30 s of a jittering static object into exactly one stacking hit, and shadow detections into shadow hits', async () => {
    const metrics = createMetrics(new Registry());
    const hits: unknown[] = [];
    const stage = new RulesStage({ metrics, log: memoryLogger().log, onHit: (h) => void hits.push(h) });
    stage.apply(config);
    for (let s = 0; s <= 30; s++) {
      const fd: FrameDetections = {
        frame: frame(s),
        results: [
          { detector: 'static-object', version: '1', mode: 'active', detections: [crate((s % 3) * 0.003)] },
          { detector: 'candidate', version: '1', mode: 'shadow', detections: s > 5 ? [{ ...crate(0), box: [0.6, 0.6, 0.7, 0.8] }] : [] },
        ],
        failed: [],
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
});
