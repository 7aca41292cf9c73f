import { z } from 'zod';
import type { Frame } from '../../core/types.js';
import { DETECTOR_API, defineDetector, type Detection } from '../contract.js';
import { DEFAULT_PARAMS, initialState, step, toGrey, type GreyFrame, type StaticParams, type StaticState } from './model.js';

const D = DEFAULT_PARAMS;
const options = z.strictObject({
  /** Columns of the grey working image (rows keep the aspect). */
  width: z.number().int().min(32).max(640).default(160),
  /** Grey-level difference that counts as a change. */
  diffThreshold: z.number().min(1).max(255).default(D.diffThreshold),
  /** Time constant of the long-term (empty scene) background, seconds. */
  longTauSec: z.number().positive().default(D.longTauSec),
  /** Time constant of the short-term background, seconds. */
  shortTauSec: z.number().positive().default(D.shortTauSec),
  /** Seconds an object must stay still before it is reported. */
  minStaticSec: z.number().positive().default(D.minStaticSec),
  /** Cap of the per-pixel static counter (bounds how long a removed object lingers). */
  maxCounterSec: z.number().positive().optional(),
  /** Seconds of frames whose median seeds the empty scene. */
  warmupSec: z.number().min(0).default(D.warmupSec),
  /** Smallest and largest region reported, as fractions of the frame. */
  minArea: z.number().min(0).max(1).default(D.minArea),
  maxArea: z.number().min(0).max(1).default(D.maxArea),
});

/**
 * `static-object`: the class-agnostic static-change detector (see model.ts). State is per camera; frames of
 * one camera must arrive in time order (the scheduler guarantees it).
 */
export default defineDetector({
  manifest: {
    id: 'static-object',
    version: '1.0.0',
    api: `^${DETECTOR_API}`,
    description: 'class-agnostic: new objects that appeared and stayed still (boxes, crates, goods)',
    licence: 'project',
    family: 'background-model',
    labels: ['static_object'],
    labelMap: { static_object: 'static_object' },
    input: { width: 160, height: 90, pixelFormat: 'gray8' },
    maxBatch: 16,
    options,
  },
  create(o) {
    const params: StaticParams = { ...D, ...o, maxCounterSec: o.maxCounterSec ?? o.minStaticSec + 6 };
    const cams = new Map<string, { state: StaticState; grey: GreyFrame }>();
    let closed = false;
    const one = (f: Frame): Detection[] => {
      const cam = cams.get(f.cameraId);
      const grey = toGrey(f.data, f.width, f.height, o.width, cam?.grey);
      if (!cam || cam.state.width !== grey.width || cam.state.height !== grey.height || f.wallMs < cam.state.lastT) {
        // first frame, a new frame size, or time went backwards (a restarted file): start afresh
        cams.set(f.cameraId, { state: initialState(grey, f.wallMs), grey });
        return [];
      }
      cam.grey = grey;
      return step(cam.state, grey, f.wallMs, params).map((r) => ({
        box: r.box,
        score: r.score,
        label: 'static_object',
        semantic: 'static_object',
        // the counter is capped, so this is a lower bound of how long it has been there
        sinceMs: f.wallMs - r.staticSec * 1000,
      }));
    };
    return {
      async detect(batch) {
        if (closed) throw new Error('static-object detector is closed');
        return batch.map(one);
      },
      forgetCamera(id) {
        cams.delete(id);
      },
      async close() {
        closed = true;
        cams.clear();
      },
    };
  },
});
