/** A small grey working image: one byte per pixel, row-major. */
export interface GreyFrame {
  width: number;
  height: number;
  data: Uint8Array;
}

/** The working size for a source of `srcW`×`srcH` at `width` columns: rows keep the aspect, never upscaled. */
export function greySize(srcW: number, srcH: number, width: number): { width: number; height: number } {
  const w = Math.max(1, Math.min(width, srcW));
  return { width: w, height: Math.max(1, Math.min(srcH, Math.round((srcH * w) / srcW))) };
}

/**
 * rgb24 → grey (BT.601 luma) at `width` columns by averaging whole source blocks (a box filter). Averaging
 * rather than sampling matters: it is what keeps sensor noise and compression blocking below the change
 * threshold. An integer ratio (640→160, 640→320) takes the fast path; other sizes use blocks of ⌊⌋/⌈⌉ pixels.
 * `out` is reused when it has the right size, so a camera's frames cost no allocation.
 */
export function toGrey(rgb: Uint8Array, srcW: number, srcH: number, width: number, out?: GreyFrame): GreyFrame {
  if (rgb.length < srcW * srcH * 3) throw new RangeError(`rgb24 buffer has ${rgb.length} bytes, ${srcW}×${srcH} needs ${srcW * srcH * 3}`);
  const { width: w, height: h } = greySize(srcW, srcH, width);
  const g = out && out.width === w && out.height === h ? out : { width: w, height: h, data: new Uint8Array(w * h) };
  const d = g.data;
  const fx = srcW / w;
  const fy = srcH / h;
  if (Number.isInteger(fx) && Number.isInteger(fy)) {
    // 77/150/29 are the BT.601 weights ×256; one division per output pixel.
    const div = fx * fy * 256;
    const row = srcW * 3;
    for (let y = 0; y < h; y++) {
      const base = y * fy * row;
      for (let x = 0; x < w; x++) {
        let sum = 0;
        for (let sy = 0; sy < fy; sy++) {
          let o = base + sy * row + x * fx * 3;
          for (let sx = 0; sx < fx; sx++, o += 3) sum += 77 * rgb[o]! + 150 * rgb[o + 1]! + 29 * rgb[o + 2]!;
        }
        d[y * w + x] = sum / div;
      }
    }
    return g;
  }
  for (let y = 0; y < h; y++) {
    const sy0 = Math.floor((y * srcH) / h);
    const sy1 = Math.max(sy0 + 1, Math.floor(((y + 1) * srcH) / h));
    for (let x = 0; x < w; x++) {
      const sx0 = Math.floor((x * srcW) / w);
      const sx1 = Math.max(sx0 + 1, Math.floor(((x + 1) * srcW) / w));
      let sum = 0;
      for (let sy = sy0; sy < sy1; sy++) {
        let o = (sy * srcW + sx0) * 3;
        for (let sx = sx0; sx < sx1; sx++, o += 3) sum += 77 * rgb[o]! + 150 * rgb[o + 1]! + 29 * rgb[o + 2]!;
      }
      d[y * w + x] = sum / ((sy1 - sy0) * (sx1 - sx0) * 256);
    }
  }
  return g;
}

/** Quartiles of a frame's grey levels (a 256-bin histogram: O(n), no sort). */
export function levels(data: ArrayLike<number>, hist: Uint32Array = new Uint32Array(256)): { q25: number; q50: number; q75: number } {
  hist.fill(0);
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const x = data[i]!;
    hist[x <= 0 ? 0 : x >= 255 ? 255 : Math.round(x)]!++;
  }
  const q = [n * 0.25, n * 0.5, n * 0.75];
  const out = [255, 255, 255];
  let acc = 0;
  let k = 0;
  for (let v = 0; v < 256 && k < 3; v++) {
    acc += hist[v]!;
    while (k < 3 && acc >= q[k]!) out[k++] = v;
  }
  return { q25: out[0]!, q50: out[1]!, q75: out[2]! };
}

/** Median grey level of a frame. */
export function medianLevel(data: ArrayLike<number>, hist?: Uint32Array): number {
  return levels(data, hist).q50;
}
