import type { Box } from '../../detectors/contract.js';
import type { Hit } from '../../rules/types.js';

export const T = Date.UTC(2026, 10, 27, 2, 0);
export const MIN = 60_000;

/** A stacking hit at `box` on cam-a/z1, fired at T + `atMin` minutes. */
export const hit = (atMin: number, over: Partial<Hit> = {}, box: Box = [0.2, 0.6, 0.3, 0.8]): Hit => ({
  type: 'stacking',
  cameraId: 'cam-a',
  zoneId: 'z1',
  box,
  score: 0.9,
  firstSeenMs: T + atMin * MIN - 20_000,
  atMs: T + atMin * MIN,
  dwellSec: 20,
  trackIds: [1],
  objects: [{ trackId: 1, semantic: 'static_object', detector: 'static-object' }],
  frame: { cameraId: 'cam-a', seq: atMin, wallMs: T + atMin * MIN },
  shadow: false,
  ...over,
});
