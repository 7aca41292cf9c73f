import type { CandidateBuffer } from './nms.js';

/**
 * Family decoders: raw output tensors → candidate boxes in model-input pixels (YOLOX, YOLOv8) or in source
 * pixels (PicoDet, which decodes and runs NMS inside its graph). Each checks the cheap bound first
 * (objectness, or the best class score) so most of the thousands of rows cost a compare or two.
 * `minScore[c]` is the threshold of class c.
 */

/** YOLOX: rows (tx, ty, tw, th, obj, c0..c79) for strides 8, 16, 32 in order, row-major (gy, gx) per level. */
export function decodeYolox(out: Float32Array, inputW: number, inputH: number, numClasses: number, minScore: Float32Array, floor: number, cand: CandidateBuffer): void {
  const stride = 5 + numClasses;
  let row = 0;
  for (const s of [8, 16, 32]) {
    const gw = Math.floor(inputW / s);
    const gh = Math.floor(inputH / s);
    for (let gy = 0; gy < gh; gy++) {
      for (let gx = 0; gx < gw; gx++, row++) {
        const o = row * stride;
        const obj = out[o + 4]!;
        if (obj < floor) continue;
        let best = 0;
        let cls = -1;
        for (let c = 0; c < numClasses; c++) {
          const v = out[o + 5 + c]!;
          if (v > best) {
            best = v;
            cls = c;
          }
        }
        const score = obj * best;
        if (cls < 0 || score < minScore[cls]!) continue;
        const cx = (out[o]! + gx) * s;
        const cy = (out[o + 1]! + gy) * s;
        const w = Math.exp(out[o + 2]!) * s;
        const h = Math.exp(out[o + 3]!) * s;
        cand.push(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score, cls);
      }
    }
  }
}

/** YOLOv8: channel-major [4 + classes, anchors]: cx, cy, w, h rows, then one row of scores per class. */
export function decodeYolov8(out: Float32Array, anchors: number, numClasses: number, minScore: Float32Array, floor: number, cand: CandidateBuffer, best: Float32Array, arg: Int32Array): void {
  best.fill(0, 0, anchors);
  arg.fill(-1, 0, anchors);
  // class-outer loop: each class row is contiguous, so the best-class scan streams through memory
  for (let c = 0; c < numClasses; c++) {
    const base = (4 + c) * anchors;
    for (let i = 0; i < anchors; i++) {
      const v = out[base + i]!;
      if (v > best[i]!) {
        best[i] = v;
        arg[i] = c;
      }
    }
  }
  for (let i = 0; i < anchors; i++) {
    const score = best[i]!;
    const cls = arg[i]!;
    if (score < floor || cls < 0 || score < minScore[cls]!) continue;
    const cx = out[i]!, cy = out[anchors + i]!, w = out[2 * anchors + i]!, h = out[3 * anchors + i]!;
    cand.push(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score, cls);
  }
}

/** PicoDet (post-processed export): rows (class, score, x1, y1, x2, y2) in source pixels, already NMS'd. */
export function decodePicodet(out: Float32Array, rows: number, minScore: Float32Array, cand: CandidateBuffer): void {
  for (let r = 0; r < rows; r++) {
    const o = r * 6;
    const cls = Math.round(out[o]!);
    const score = out[o + 1]!;
    if (cls < 0 || cls >= minScore.length || score < minScore[cls]!) continue;
    cand.push(out[o + 2]!, out[o + 3]!, out[o + 4]!, out[o + 5]!, score, cls);
  }
}
