import { setFlagsFromString } from 'node:v8';

/**
 * V8's old generation may grow to this many percent above its live size before a full collection (V8's
 * `--heap-growing-percent`; 0, its default, lets V8 pick a factor of ≈ 1.1–1.8 for a small heap).
 *
 * Why: a `run` process allocates tens of MB/s of short-lived ArrayBuffers (pipe reads of the receivers'
 * keyframes and the decoders' frames, the frames themselves) around a live heap of only ≈ 35 MB. With V8's
 * own factor the old-generation limit stayed ≈ 25 MB above the live size, and the main thread ran a full
 * mark-compact 1.7–2.7 times a second that freed almost nothing (36.9 → 35.2 MB). Measured at 150 cameras
 * (--trace-gc over 30 s): 51–81 mark-compacts, 8.8 % of a core of GC on the main thread; with 300: 9
 * mark-compacts, 3.1 %. The cost is a larger heap between collections (≈ 4× live at most, ≈ 140 MB here).
 */
export const HEAP_GROWING_PERCENT = 300;

let applied = false;

/**
 * Applies HEAP_GROWING_PERCENT to this process (once; later calls do nothing). V8 reads the flag whenever it
 * recomputes its limits, so setting it at run time takes effect from the next collection.
 */
export function tuneHeapForStreaming(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
