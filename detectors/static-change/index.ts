import { z } from 'zod';
import { StreetwatchError } from '../../core/errors.js';
import type { Frame } from '../../core/types.js';
import { DETECTOR_API, defineDetector, type Detection } from '../contract.js';
import { toGrey, type GreyFrame } from './grey.js';
import { DEFAULT_PARAMS as D, initialState, step, type StaticParams, type StaticState } from './model.js';

const DEFAULT_WIDTH = 160;

export const staticObjectOptions = z
  .strictObject({
    /** Columns of the grey working image (rows keep the aspect). 160 is enough for objects of ~20 cm at 15 m. */
    width: z.number().int().min(32).max(640).default(DEFAULT_WIDTH),
    /** Grey-level difference (0..255) that counts as a change. */
    diffThreshold: z.number().min(1).max(254).default(D.diffThreshold),
    /** Fraction per second the long-term (empty scene) background follows the frame where they match. */
    longRate: z.number().gt(0).lt(1).default(D.longRate),
    /** Fraction per second the short-term background follows the frame. */
    shortRate: z.number().gt(0).lt(1).default(D.shortRate),
    /** Seconds an object must stay still before it is reported. */
    minStaticSec: z.number().positive().default(D.minStaticSec),
    /** Cap of the per-pixel static counter, seconds (default minStaticSec + 6): a removed object is dropped
     *  within (maxCounterSec − minStaticSec) / 2 s. */
    maxCounterSec: z.number().positive().optional(),
    /** Seconds of frames whose median seeds the empty scene. */
    warmupSec: z.number().min(0).max(600).default(D.warmupSec),
    /** Smallest and largest region reported, as fractions of the frame. */
    minArea: z.number().min(0).max(1).default(D.minArea),
    maxArea: z.number().gt(0).max(1).default(D.maxArea),
    /** Seconds after which a change that stayed becomes part of the scene (0 = never). */
    absorbSec: z.number().min(0).default(D.absorbSec),
  })
  .refine((o) => o.maxArea > o.minArea, { message: 'maxArea must be larger than minArea', path: ['maxArea'] })
  .refine((o) => o.maxCounterSec === undefined || o.maxCounterSec > o.minStaticSec, {
    message: 'maxCounterSec must be larger than minStaticSec (or nothing is ever reported)',
    path: ['maxCounterSec'],
  })
  .refine((o) => o.absorbSec === 0 || o.absorbSec > o.minStaticSec, { message: 'absorbSec must be 0 or larger than minStaticSec', path: ['absorbSec'] });

export type StaticObjectOptions = z.output<typeof staticObjectOptions>;

/** The model parameters for a set of detector options. */
export function paramsFrom(o: StaticObjectOptions): StaticParams {
  const { width: _width, ...rest } = o;
  return { ...D, ...rest, maxCounterSec: o.maxCounterSec ?? o.minStaticSec + 6 };
}

/**
 * `static-object`: the class-agnostic static-change detector (model.ts). It keeps one background model per
 * `frame.cameraId`; frames of one camera must come in time order (the scheduler keeps them so). A frame whose
 * time goes backwards (a file restarted) or whose working image changes shape (another aspect ratio) starts
 * that camera's model again, as does `forgetCamera`; a mere change of frame size at the same aspect does not,
 * since boxes are normalised.
 * Detections carry `sinceMs`, the frame time the object arrived, so the tracker's dwell does not include the
 * detector's own `minStaticSec` latency.
 */
export default defineDetector({
  manifest: {
    id: 'static-object',
    version: '1.1.0',
    api: `^${DETECTOR_API}`,
    description: 'class-agnostic: new objects that appeared and stayed still (boxes, crates, goods; also people standing still)',
    licence: 'project',
    family: 'background-model',
    labels: ['static_object'],
    labelMap: { static_object: 'static_object' },
    input: { width: DEFAULT_WIDTH, height: 90, pixelFormat: 'gray8' },
    maxBatch: 16,
    options: staticObjectOptions,
  },
  create(o) {
    const params = paramsFrom(o);
    const cams = new Map<string, { state: StaticState; spare?: StaticState; grey: GreyFrame }>();
    let closed = false;
    const one = (f: Frame): Detection[] => {
      if (f.data.length !== f.width * f.height * 3) {
        throw new StreetwatchError('IMAGE_INVALID', `static-object: frame ${f.seq} of camera ${f.cameraId} has ${f.data.length} bytes, ${f.width}×${f.height} rgb24 needs ${f.width * f.height * 3}`);
      }
      const cam = cams.get(f.cameraId);
      const grey = toGrey(f.data, f.width, f.height, o.width, cam?.grey);
      if (!cam || cam.state.width !== grey.width || cam.state.height !== grey.height || f.wallMs < cam.state.lastMs) {
        cams.set(f.cameraId, { state: initialState(grey, f.wallMs), grey });
        return [];
      }
      const r = step(cam.state, grey, f.wallMs, params, cam.spare);
      cam.spare = cam.state;
      cam.state = r.state;
      cam.grey = grey;
      return r.regions.map((g) => ({ box: g.box, score: g.score, label: 'static_object', semantic: 'static_object', sinceMs: g.sinceMs }));
    };
    return {
      async detect(batch, signal) {
        if (closed) throw new StreetwatchError('STOPPED', 'static-object detector is closed');
        const out: Detection[][] = [];
        for (const f of batch) {
          if (signal.aborted) throw new StreetwatchError('DETECTOR_TIMEOUT', 'static-object: aborted');
          out.push(one(f));
        }
        return out;
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
