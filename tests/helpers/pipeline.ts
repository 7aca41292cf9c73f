import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import type { ResolvedCamera } from '../../config/schema.js';
import { createLogger, type Logger } from '../../core/log.js';
import { createMetrics, type Metrics } from '../../core/metrics.js';
import type { Frame } from '../../core/types.js';
import { CameraRunner, type CameraDeps } from '../../pipeline/camera.js';
import { createTelemetryPositionSource } from '../../pipeline/sources/vehicle.js';

/** Captures log lines as parsed objects, so tests can assert on what was logged. */
export function memoryLogger(level = 'debug'): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const dest = new Writable({
    write(chunk, _e, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: createLogger({ level, destination: dest as never }), lines };
}

export interface Harness {
  runner: CameraRunner;
  frames: Frame[];
  metrics: Metrics;
  dataDir: string;
  lines: Record<string, unknown>[];
}

/** A camera runner whose frames are collected in memory. */
export function runCamera(cam: ResolvedCamera, over: Partial<CameraDeps> = {}): Harness {
  const frames: Frame[] = [];
  const metrics = createMetrics(new Registry());
  const { log, lines } = memoryLogger();
  const dataDir = mkdtempSync(join(tmpdir(), 'sw-data-'));
  const runner = new CameraRunner(cam, {
    baseDir: process.cwd(),
    dataDir,
    metrics,
    log,
    onFrame: (f) => frames.push(f),
    createPositionSource: createTelemetryPositionSource(log),
    stopStepMs: 1500,
    ...over,
  });
  return { runner, frames, metrics, dataDir, lines };
}

/** The value of one series in a registry, or 0. */
export async function metricValue(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const m = await metrics.registry.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}
