import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema, resolveCamera } from '../../config/schema.js';
import { DispatchStage } from '../../dispatcher/stage.js';
import { hitAt } from '../helpers/factories.js';
import { oxfordFrame } from '../helpers/frames.js';
import { ensureTestClip } from '../helpers/media.js';
import { memoryLogger, runCamera } from '../helpers/pipeline.js';
import { waitFor } from '../helpers/wait.js';

// A live camera (a file read at its own rate, as the demo does) writing its evidence ring with a real ffmpeg,
// and an incident confirmed NOW: its confirmation sits in the segment ffmpeg is still writing, and the camera's
// GOP is as long as a segment. The full-resolution package must still have all three stills and the clip
// (both used to be lost: the open segment failed the probe, and input seeking found no frame in a segment
// whose only keyframe is its first).
describe('evidence from a live ring', () => {
  it('cuts every still and the clip of an incident confirmed while the ring is being written', async () => {
    const clip = await ensureTestClip({ seconds: 20, width: 640, height: 360, gop: 50 });
    const cam = {
      id: 'cam-live',
      source: { kind: 'file' as const, path: clip, loop: true, realtime: true },
      ring: { enabled: true, segmentSec: 2, keepMinutes: 1 },
      location: { lat: 31.23, lon: 121.47 },
      zones: [{ id: 'z1', kind: 'no_stacking' as const, polygon: [[0.5, 0.5], [1, 0.5], [1, 1], [0.5, 1]] as [number, number][], rules: { stacking: { dwell: 5 } } }],
    };
    const base = configSchema.parse({ version: 1, cameras: [cam], evidence: { clipBeforeSec: 2, clipAfterSec: 2 } });
    const h = runCamera(resolveCamera(base, base.cameras[0]!));
    await h.runner.start();
    const { log, lines } = memoryLogger('info');
    const config = { ...base, storage: { dataDir: h.dataDir } };
    const stage = new DispatchStage({ config, baseDir: h.dataDir, log });
    await stage.start();
    try {
      // let the ring hold the 6 s before now (three closed 2 s segments and the one being written), then
      // confirm an incident first seen 6 s ago
      const ring = join(h.dataDir, 'ring', 'cam-live');
      await waitFor(() => existsSync(ring) && readdirSync(ring).length >= 4, 30_000, 'four ring segments');
      const now = Date.now();
      const frame = oxfordFrame(640, 360, 10);
      const hit = hitAt(now, {
        cameraId: 'cam-live', box: [0.6, 0.6, 0.8, 0.9], dwellSec: 6, seq: 1,
        snapshot: { width: frame.width, height: frame.height, data: frame.data },
      });
      stage.onHit(hit);
      await stage.idle();
      const id = stage.store.list()[0]!.id;
      const r2 = join(stage.evidenceRoot, id, 'r2');
      expect(existsSync(r2), JSON.stringify(lines.filter((l) => Number(l.level) >= 40))).toBe(true);
      expect(readdirSync(r2).sort()).toEqual(expect.arrayContaining(['still-first.png', 'still-confirmed.png', 'still-latest.png', 'annotated-confirmed.jpg', 'clip.mp4']));
      expect(lines.filter((l) => l.msg === 'evidence package is missing items')).toEqual([]);
    } finally {
      await stage.stop();
      await h.runner.stop();
    }
  }, 90_000);
});
