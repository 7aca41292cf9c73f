/**
 * Class-aware non-maximum suppression over candidates held in typed arrays: no per-box objects, and the
 * buffers live as long as the detector, so a frame allocates nothing unless it has more candidates than any
 * frame before it. Decoders threshold before pushing, so NMS sorts tens of rows, not thousands.
 */
export class CandidateBuffer {
  count = 0;
  /** x1, y1, x2, y2 per candidate. */
  boxes = new Float32Array(4 * 256);
  scores = new Float32Array(256);
  classes = new Int32Array(256);
  /** Scratch for NMS: candidate order, suppression flags, kept indices. */
  order = new Uint32Array(256);
  removed = new Uint8Array(256);
  keep = new Int32Array(256);

  reset(): void {
    this.count = 0;
  }

  push(x1: number, y1: number, x2: number, y2: number, score: number, cls: number): void {
    if (this.count === this.scores.length) this.grow();
    const k = this.count++;
    const b = k * 4;
    this.boxes[b] = x1;
    this.boxes[b + 1] = y1;
    this.boxes[b + 2] = x2;
    this.boxes[b + 3] = y2;
    this.scores[k] = score;
    this.classes[k] = cls;
  }

  private grow(): void {
    const n = this.scores.length * 2;
    const grow = <T extends Float32Array | Int32Array>(a: T, make: (n: number) => T, per = 1): T => {
      const b = make(n * per);
      b.set(a);
      return b;
    };
    this.boxes = grow(this.boxes, (k) => new Float32Array(k), 4);
    this.scores = grow(this.scores, (k) => new Float32Array(k));
    this.classes = grow(this.classes, (k) => new Int32Array(k));
    this.order = new Uint32Array(n);
    this.removed = new Uint8Array(n);
    this.keep = new Int32Array(n);
  }
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

/**
 * Suppresses, within each class, every candidate whose IoU with a higher-scored kept one exceeds
 * `iouThreshold`; boxes of different classes never suppress each other. A candidate below its class's
 * `minScore` (when given) is dropped first, so it cannot suppress anything either. Writes the kept indices,
 * best first, to `c.keep` and returns how many there are.
 */
export function nmsClassAware(c: CandidateBuffer, iouThreshold: number, minScore?: Float32Array): number {
  const { scores, classes, order, removed, keep } = c;
  let n = 0;
  for (let i = 0; i < c.count; i++) {
    if (minScore && scores[i]! < minScore[classes[i]!]!) continue;
    order[n++] = i;
  }
  sortByScore(order, n, scores);
  removed.fill(0, 0, c.count);
  let kept = 0;
  for (let a = 0; a < n; a++) {
    const i = order[a]!;
    if (removed[i]) continue;
    keep[kept++] = i;
    const ci = classes[i];
    for (let b = a + 1; b < n; b++) {
      const j = order[b]!;
      if (!removed[j] && classes[j] === ci && iou(c.boxes, i, j) > iouThreshold) removed[j] = 1;
    }
  }
  return kept;
}

/** Sorts `order[0..n)` by descending score. */
function sortByScore(order: Uint32Array, n: number, scores: Float32Array): void {
  if (n > 48) {
    order.subarray(0, n).sort((a, b) => scores[b]! - scores[a]!);
    return;
  }
  // a thresholded frame has a few dozen candidates: insertion sort beats a comparator sort there and
  // allocates nothing
  for (let k = 1; k < n; k++) {
    const i = order[k]!;
    const s = scores[i]!;
    let j = k;
    while (j > 0 && scores[order[j - 1]!]! < s) {
      order[j] = order[j - 1]!;
      j--;
    }
    order[j] = i;
  }
}
