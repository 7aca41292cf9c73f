import type { CandidateBuffer } from './nms.js';

/**
 * Family decoders: one image's slice of the raw output → candidates in model-input pixels (YOLOX, YOLOv8) or
 * in frame pixels (PicoDet, which decodes and runs NMS inside its graph). Each threshold check comes before
 * any box arithmetic, and the cheapest bound first (objectness, or the best class score), so most of the
 * thousands of rows cost a compare or two and only real candidates reach NMS.
 *
 * `minScore[c]` is class c's threshold (Infinity for a class the caller does not want); `floor` is the
 * smallest of them.
 */

/**
 * YOLOX: rows (tx, ty, tw, th, obj, c0..cN) level by level in `strides` order, row-major (gy, gx) within a
 * level; obj and class scores already sigmoid'ed. `base` is the image's first element in `out`.
 */
export function decodeYolox(
  out: Float32Array,
  base: number,
  inputW: number,
  inputH: number,
  strides: readonly number[],
  numClasses: number,
  minScore: Float32Array,
  floor: number,
  cand: CandidateBuffer,
): void {
  const rowLen = 5 + numClasses;
  let o = base;
  for (const s of strides) {
    const gw = Math.floor(inputW / s);
    const gh = Math.floor(inputH / s);
    for (let gy = 0; gy < gh; gy++) {
      for (let gx = 0; gx < gw; gx++, o += rowLen) {
        const obj = out[o + 4]!;
        // score = obj · cls ≤ obj, so a row whose objectness is under every threshold cannot qualify
        if (obj < floor) continue;
        let best = 0;
        let cls = -1;
        for (let c = 0, k = o + 5; c < numClasses; c++, k++) {
          const v = out[k]!;
          if (v > best) {
            best = v;
            cls = c;
          }
        }
        if (cls < 0) continue;
        const score = obj * best;
        if (score < minScore[cls]!) continue;
        const cx = (out[o]! + gx) * s;
        const cy = (out[o + 1]! + gy) * s;
        const hw = Math.exp(out[o + 2]!) * s * 0.5;
        const hh = Math.exp(out[o + 3]!) * s * 0.5;
        cand.push(cx - hw, cy - hh, cx + hw, cy + hh, score, cls);
      }
    }
  }
}

/**
 * YOLOv8: channel-major [4 + classes, anchors] per image — cx, cy, w, h rows, then one row of (sigmoid'ed)
 * scores per class; no objectness. `best`/`arg` are scratch of at least `anchors` entries.
 */
export function decodeYolov8(
  out: Float32Array,
  base: number,
  anchors: number,
  numClasses: number,
  minScore: Float32Array,
  floor: number,
  cand: CandidateBuffer,
  best: Float32Array,
  arg: Int32Array,
): void {
  best.fill(0, 0, anchors);
  arg.fill(-1, 0, anchors);
  // class-outer: each class row is contiguous, so the arg-max streams through memory instead of striding
  // 8400 floats per step
  for (let c = 0; c < numClasses; c++) {
    const row = base + (4 + c) * anchors;
    for (let i = 0; i < anchors; i++) {
      const v = out[row + i]!;
      if (v > best[i]!) {
        best[i] = v;
        arg[i] = c;
      }
    }
  }
  for (let i = 0; i < anchors; i++) {
    const score = best[i]!;
    if (score < floor) continue;
    const cls = arg[i]!;
    if (cls < 0 || score < minScore[cls]!) continue;
    const cx = out[base + i]!, cy = out[base + anchors + i]!;
    const hw = out[base + 2 * anchors + i]! * 0.5, hh = out[base + 3 * anchors + i]! * 0.5;
    cand.push(cx - hw, cy - hh, cx + hw, cy + hh, score, cls);
  }
}

/**
 * PicoDet (post-processed export): rows (class, score, x1, y1, x2, y2) in frame pixels, already NMS'd.
 * Rows with class < 0 are the graph's padding.
 */
export function decodePicodet(out: Float32Array, firstRow: number, rows: number, minScore: Float32Array, cand: CandidateBuffer): void {
  const numClasses = minScore.length;
  for (let r = firstRow, end = firstRow + rows; r < end; r++) {
    const o = r * 6;
    const cls = Math.round(out[o]!);
    const score = out[o + 1]!;
    if (cls < 0 || cls >= numClasses || score < minScore[cls]!) continue;
    cand.push(out[o + 2]!, out[o + 3]!, out[o + 4]!, out[o + 5]!, score, cls);
  }
}
