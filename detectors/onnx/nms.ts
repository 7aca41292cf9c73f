/**
 * Class-aware non-maximum suppression over candidate boxes held in typed arrays (no per-box objects on the
 * hot path). Boxes are in any consistent unit; `keep` returns indices into the candidate arrays.
 */
export interface Candidates {
  count: number;
  /** x1, y1, x2, y2 per candidate, 4 floats each. */
  boxes: Float32Array;
  scores: Float32Array;
  classes: Int32Array;
}

export function iou(b: Float32Array, i: number, j: number): number {
  const ax1 = b[i * 4]!, ay1 = b[i * 4 + 1]!, ax2 = b[i * 4 + 2]!, ay2 = b[i * 4 + 3]!;
  const bx1 = b[j * 4]!, by1 = b[j * 4 + 1]!, bx2 = b[j * 4 + 2]!, by2 = b[j * 4 + 3]!;
  const iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
  const ih = Math.min(ay2, by2) - Math.max(ay1, by1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / ((ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter);
}

/** Indices kept, highest score first; boxes of different classes never suppress each other. */
export function nmsClassAware(c: Candidates, iouThreshold: number): number[] {
  const order = Array.from({ length: c.count }, (_, i) => i).sort((a, b) => c.scores[b]! - c.scores[a]!);
  const removed = new Uint8Array(c.count);
  const keep: number[] = [];
  for (let a = 0; a < order.length; a++) {
    const i = order[a]!;
    if (removed[i]) continue;
    keep.push(i);
    for (let b = a + 1; b < order.length; b++) {
      const j = order[b]!;
      if (!removed[j] && c.classes[j] === c.classes[i] && iou(c.boxes, i, j) > iouThreshold) removed[j] = 1;
    }
  }
  return keep;
}

/** A growable candidate buffer reused across frames (allocation only when a frame has more candidates). */
export class CandidateBuffer implements Candidates {
  count = 0;
  boxes = new Float32Array(4 * 256);
  scores = new Float32Array(256);
  classes = new Int32Array(256);

  reset(): void {
    this.count = 0;
  }

  push(x1: number, y1: number, x2: number, y2: number, score: number, cls: number): void {
    if (this.count === this.scores.length) this.grow();
    const k = this.count++;
    this.boxes[k * 4] = x1;
    this.boxes[k * 4 + 1] = y1;
    this.boxes[k * 4 + 2] = x2;
    this.boxes[k * 4 + 3] = y2;
    this.scores[k] = score;
    this.classes[k] = cls;
  }

  private grow(): void {
    const n = this.scores.length * 2;
    const boxes = new Float32Array(n * 4);
    boxes.set(this.boxes);
    const scores = new Float32Array(n);
    scores.set(this.scores);
    const classes = new Int32Array(n);
    classes.set(this.classes);
    this.boxes = boxes;
    this.scores = scores;
    this.classes = classes;
  }
}
