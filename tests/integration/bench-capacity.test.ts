import { cpus } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { benchCapacity, histogramQuantile, type StepResult } from '../../scripts/bench-capacity.js';
import { killRuns } from '../helpers/cli.js';

// `npm run bench -- capacity` at its smallest: the real `streetwatch run` with 2 RTSP cameras from the RTSP test
// server, short warm-up and window. Only the shape of what it reports and that frames flowed are checked; the
// numbers themselves are the bench's business (no timing assertions here).
afterAll(killRuns);

describe('bench capacity', () => {
  it('histogramQuantile interpolates within cumulative buckets as Prometheus does', () => {
    const b = new Map([
      [0.1, 50],
      [1, 90],
      [Infinity, 100],
    ]);
    expect(histogramQuantile(0.5, b)).toBeCloseTo(0.1);
    expect(histogramQuantile(0.7, b)).toBeCloseTo(0.55);
    expect(histogramQuantile(0.99, b)).toBe(1); // in +Inf: the last finite bound
    expect(histogramQuantile(0.5, new Map([[Infinity, 0]]))).toBeNull();
  });

  it('2 RTSP cameras through streetwatch run: one line per step with CPU, memory, frames, lags, I/O; a summary', async () => {
    const lines: StepResult[] = [];
    const progress: string[] = [];
    const report = await benchCapacity({
      steps: [2],
      warmupSec: 5,
      windowSec: 10,
      sampleSec: 2,
      source: 'rtsp',
      clipSeconds: 10,
      quietWaitSec: 0, // tests run in parallel: never wait for a quiet machine
      onStep: (r) => lines.push(r),
      progress: (m) => progress.push(m),
    });
    expect(lines).toEqual(report.steps);
    expect(report.steps).toHaveLength(1);
    const r = report.steps[0]! as Record<string, any>;
    expect(JSON.parse(JSON.stringify(r))).toEqual(r); // one JSON line
    expect(r).toMatchObject({ bench: 'capacity', cameras: 2, source: 'rtsp', holds: expect.any(Boolean), failed: expect.any(Array) });

    expect(r.cpu).toMatchObject({
      pctCorePerCamera: expect.any(Number),
      nodePctCorePerCamera: expect.any(Number),
      ffmpegPctCorePerCamera: expect.any(Number),
      rtspServerPct: expect.any(Number),
      machineBusyPct: expect.any(Number),
    });
    expect(r.cpu.pctCorePerCamera).toBeGreaterThan(0);
    expect(r.cpu.ffmpegPct).toBeGreaterThan(0);
    expect(r.memory).toMatchObject({
      pssMbPerCamera: expect.any(Number),
      ffmpegPssMbPerCamera: expect.any(Number),
      rssMbPerCamera: expect.any(Number),
      nodeRssMb: expect.any(Number),
      nodePssMb: expect.any(Number),
      // the 2 cameras' receivers and, with the default shared decoding, one decoder per core
      ffmpegProcesses: 2 + cpus().length,
      sharedDecoders: cpus().length,
    });
    expect(r.cpu.sharedDecodersPct).toBeGreaterThan(0);
    expect(r.memory.pssMbPerCamera).toBeGreaterThan(0);

    // frames were decoded and went through both default detectors
    expect(r.frames.totalDecoded).toBeGreaterThan(0);
    expect(r.frames.totalDetected).toBeGreaterThan(0);
    expect(r.frames).toMatchObject({ decodedPerSec: expect.any(Number), scheduledPerSec: expect.any(Number), droppedPerSec: expect.any(Number) });
    expect(Object.keys(r.detectors).sort()).toEqual(['static-object', 'yolox-nano-416']);
    expect(r.detectors['yolox-nano-416']).toMatchObject({ framesPerSec: expect.any(Number), batchMsP50: expect.anything() });

    expect(r.decodeLagSec.samples).toBeGreaterThan(0);
    expect(r.eventLoopLagMs.p99).toEqual(expect.any(Number));
    expect(r.schedulerWaitMs).toHaveProperty('p50');
    expect(r.schedulerWaitMs).toHaveProperty('p99');
    expect(r.io).toMatchObject({ ringWriteMBPerSec: expect.any(Number), ringNewSegmentMBPerSec: expect.any(Number), inputMBPerSec: expect.any(Number) });
    expect(r.rtsp).toMatchObject({ mounts: 1, camerasPerMount: 10 });
    expect(r.git.head).toMatch(/^[0-9a-f]{40}$/);
    expect(r.git.status).toEqual(expect.any(Array));
    expect(r.stop.code).toBe(0); // streetwatch run stopped cleanly

    expect(report.summary).toMatchObject({
      bench: 'capacity',
      summary: true,
      maxCameras: expect.any(Number),
      sourcesUsed: ['rtsp'],
      stepsPlanned: [2],
    });
    expect(report.summary).toHaveProperty('pctCorePerCamera');
    expect(report.summary).toHaveProperty('pssMbPerCamera');
    expect(report.summary).toHaveProperty('source');
    expect(progress.length).toBeGreaterThan(0);
  }, 240_000);
});
