import { describe, expect, it } from 'vitest';
import type { Frame } from '../../../../core/types.js';
import { detectorOnLanes, onnxDetectorFromManifest } from '../../../../detectors/onnx/detector.js';
import { loadModelDetectorManifests, type ModelDetectorManifest } from '../../../../detectors/onnx/manifest.js';
import type { RawOutput, RunLane } from '../../../../detectors/onnx/session.js';
import { frame } from '../../../helpers/factories.js';
import { sleep } from '../../../helpers/wait.js';

/**
 * Batching and pooling over lanes whose "model" is a function of its input: each image's output says which
 * class to report from the grey level of that image's first tensor value. A frame that comes back with
 * another frame's class, or in another position, was mixed up on the way.
 */
const real = loadModelDetectorManifests();
/** A 64×36 frame all of one grey level, named after it. */
const greyFrame = (level: number): Frame => frame(`g${level}`, level, { width: 64, height: 36, fill: level });
const signal = () => new AbortController().signal;

class FakeLane implements RunLane {
  input: Float32Array;
  scale: Float32Array;
  runs: number[] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(
    private readonly m: ModelDetectorManifest,
    private readonly outputs: (lane: FakeLane, batch: number) => Record<string, RawOutput>,
  ) {
    this.input = new Float32Array(3 * m.input.width * m.input.height * m.maxBatch);
    this.scale = new Float32Array(2 * m.maxBatch);
  }
  /** The grey level image i was written with (its first tensor value, undoing scale/mean/std). */
  grey(i: number): number {
    const { scale, mean, std } = this.m.input;
    return Math.round((this.input[i * 3 * this.m.input.width * this.m.input.height]! * std[0] + mean[0]) / scale);
  }
  async run(batch: number): Promise<Record<string, RawOutput>> {
    this.runs.push(batch);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    // later runs finish first, so results come back out of order
    await sleep(20 - this.runs.length);
    this.inFlight--;
    return this.outputs(this, batch);
  }
  async release(): Promise<void> {}
}

const yoloxBatched = (): ModelDetectorManifest => {
  const m = structuredClone(real.find((x) => x.family === 'yolox')!);
  m.input.shape[0] = null;
  m.outputs[0]!.shape[0] = null;
  m.maxBatch = 4;
  return m;
};

/** YOLOX output: one row per image at the first stride-8 cell, class = grey level. */
const yoloxOutputs = (lane: FakeLane, batch: number): Record<string, RawOutput> => {
  const per = 3549 * 85;
  const data = new Float32Array(batch * per);
  for (let i = 0; i < batch; i++) data.set([0.5, 0.5, Math.log(4), Math.log(4), 0.9], i * per), (data[i * per + 5 + lane.grey(i)] = 0.9);
  return { output: { data, dims: [batch, 3549, 85] } };
};

describe('tensor batches', () => {
  it('YOLOX-family with maxBatch 4: 6 frames run as 4 + 2, each frame gets its own image of the batch', async () => {
    const m = yoloxBatched();
    const lane = new FakeLane(m, yoloxOutputs);
    const inst = detectorOnLanes(m, onnxDetectorFromManifest(m).manifest.options.parse({ classes: m.classes.slice(0, 20) }), [lane]);
    const greys = [3, 1, 7, 0, 5, 2];
    const out = await inst.detect(greys.map((g) => greyFrame(g)), signal());
    expect(lane.runs).toEqual([4, 2]);
    expect(out.map((d) => d.map((x) => x.label))).toEqual(greys.map((g) => [m.classes[g]]));
  });

  it('PicoDet-family with per-image counts: rows are split by the counts output', async () => {
    const m = structuredClone(real.find((x) => x.family === 'picodet')!);
    m.maxBatch = 3;
    m.perImageCounts = m.outputs[1]!.name;
    const lane = new FakeLane(m, (l, batch) => {
      // image i gets i + 1 rows, all of class grey(i), boxes in frame pixels
      const rows: number[] = [];
      const counts = new Int32Array(batch);
      for (let i = 0; i < batch; i++) {
        counts[i] = i + 1;
        for (let k = 0; k <= i; k++) rows.push(l.grey(i), 0.9, 10 * k, 0, 10 * k + 8, 30);
      }
      return { [m.outputs[0]!.name]: { data: Float32Array.from(rows), dims: [rows.length / 6, 6] }, [m.perImageCounts!]: { data: counts, dims: [batch] } };
    });
    const inst = detectorOnLanes(m, onnxDetectorFromManifest(m).manifest.options.parse({}), [lane]);
    const out = await inst.detect([greyFrame(2), greyFrame(9), greyFrame(4)], signal());
    expect(out.map((d) => d.map((x) => x.label))).toEqual([[m.classes[2]], [m.classes[9], m.classes[9]], [m.classes[4], m.classes[4], m.classes[4]]]);
    // PicoDet boxes are frame pixels, normalised by the frame size
    expect(out[1]![1]!.box).toEqual([10 / 64, 0, 18 / 64, 30 / 36]);
    // the scale factor the graph is given is model input / frame, per axis
    expect([...lane.scale.subarray(0, 2)]).toEqual([Math.fround(320 / 36), Math.fround(320 / 64)]);
  });
});

describe('the pool', () => {
  it('a batch-1 model spreads a call over its lanes, at most one run per lane, results in frame order', async () => {
    const m = real.find((x) => x.family === 'yolox')!;
    const lanes = [new FakeLane(m, yoloxOutputs), new FakeLane(m, yoloxOutputs)];
    const inst = detectorOnLanes(m, onnxDetectorFromManifest(m).manifest.options.parse({ concurrency: 2 }), lanes);
    const greys = [4, 8, 15, 16, 23, 42];
    const out = await inst.detect(greys.map((g) => greyFrame(g)), signal());
    expect(out.map((d) => d.map((x) => x.label))).toEqual(greys.map((g) => [m.classes[g]]));
    expect(lanes.map((l) => l.runs.length).reduce((a, b) => a + b)).toBe(6);
    expect(lanes.every((l) => l.runs.length >= 2 && l.maxInFlight === 1)).toBe(true);
  });

  it('an abort while waiting for a lane rejects with DETECTOR_TIMEOUT; close waits for the run in flight', async () => {
    const m = real.find((x) => x.family === 'yolox')!;
    const lane = new FakeLane(m, yoloxOutputs);
    let released = false;
    lane.release = async () => void (released = true);
    const inst = detectorOnLanes(m, onnxDetectorFromManifest(m).manifest.options.parse({}), [lane]);
    const ac = new AbortController();
    const first = inst.detect([greyFrame(1)], signal());
    const second = inst.detect([greyFrame(2)], ac.signal);
    ac.abort();
    await expect(second).rejects.toMatchObject({ code: 'DETECTOR_TIMEOUT' });
    const closing = inst.close();
    expect(released).toBe(false);
    expect((await first)[0]!.map((d) => d.label)).toEqual([m.classes[1]]);
    await closing;
    expect(released).toBe(true);
  });
});
