import { loadConfig } from '../../config/loader.js';
import { watchConfig } from '../../config/watch.js';
import { isStreetwatchError } from '../../core/errors.js';
import { tuneHeapForStreaming } from '../../core/heap.js';
import { stopSignal } from '../../core/lifecycle.js';
import { createLogger, setRootLogger } from '../../core/log.js';
import { createMetrics } from '../../core/metrics.js';
import { EvidenceReader } from '../../console/evidence.js';
import { liveHubFor } from '../../console/live/hub.js';
import { startHttpServer } from '../../console/server.js';
import { createRegistry } from '../../detectors/index.js';
import { DispatchStage } from '../../dispatcher/stage.js';
import { createTransport } from '../../dispatcher/transport.js';
import { DetectionStage } from '../../pipeline/detect-stage.js';
import { RulesStage } from '../../pipeline/rules-stage.js';
import { Runtime } from '../../pipeline/runtime.js';
import { createTelemetryPositionSource } from '../../pipeline/sources/vehicle.js';
import { serveOptions } from '../args.js';

export const summary = 'run the pipeline on a config file (embedded mode), serving the console, /metrics and /healthz';

const HELP = `usage: streetwatch run --config <file> [--port N] [--host H]

Runs every enabled camera of the config, logs JSON lines (pino) on stdout and serves the command-room console
(http://<host>:<port>/, API in console/API.md; tokens from console.tokens), /metrics and /healthz. The config
is reloaded on SIGHUP and when the file changes: cameras are added, removed or restarted as needed, untouched
cameras keep running, and an invalid new config is rejected (the running one stays). A camera whose detectors
do not load (a model file missing, corrupt or not the one its manifest pins) is not started and is reported
failed (log, /api/cameras, streetwatch_camera_failed); the other cameras run, and every reload tries it again.
SIGINT/SIGTERM stop everything cleanly (ffmpeg: q, then SIGTERM, then SIGKILL).`;

export async function run(argv: string[]): Promise<number> {
  const opts = await serveOptions(argv, 'run', HELP);
  if (typeof opts === 'number') return opts;
  const { loaded, host, port } = opts;
  tuneHeapForStreaming();
  const log = createLogger({ level: loaded.config.log.level });
  setRootLogger(log);
  // Loading models takes seconds; a SIGHUP then (an operator who just fixed a model file) would otherwise kill
  // the process (Node's default): remember it and reload once running.
  let hupWhileStarting = false;
  const onEarlyHup = () => {
    hupWhileStarting = true;
    log.warn('SIGHUP while starting: the config is reloaded as soon as streetwatch is running');
  };
  process.on('SIGHUP', onEarlyHup);
  const metrics = createMetrics();
  const detection = new DetectionStage({
    registry: createRegistry(),
    metrics,
    log,
    onResult: (fd) => {
      const n = fd.results.reduce((a, r) => a + r.detections.length, 0);
      log.debug({ camera: fd.frame.cameraId, seq: fd.frame.seq, detections: n, failed: fd.failed.length }, 'frame detected');
    },
  });
  const dispatch = new DispatchStage({
    config: loaded.config,
    baseDir: loaded.baseDir,
    log,
    metrics,
    detectorInfo: (id) => {
      const d = detection.status().find((x) => x.id === id);
      return d && { version: d.version, thresholds: d.thresholds };
    },
    ...createTransport(loaded.config, loaded.baseDir, log, metrics),
  });
  await dispatch.start();
  const runtime = new Runtime({
    config: loaded.config,
    baseDir: loaded.baseDir,
    metrics,
    log,
    detection,
    rules: new RulesStage({ metrics, log, onHit: (h) => dispatch.onHit(h) }),
    owedEvidenceFromMs: (id) => dispatch.owedEvidenceFromMs(id),
    createPositionSource: createTelemetryPositionSource(log),
  });
  let config = loaded.config;
  const live = liveHubFor(() => config, loaded.baseDir, log, metrics);
  await live.start();
  const http = await startHttpServer({
    host,
    port,
    metrics,
    log,
    config: () => config,
    baseDir: loaded.baseDir,
    cameras: () => runtime.status(),
    detectors: () => detection.status(),
    store: dispatch.store,
    evidence: new EvidenceReader(dispatch.evidenceRoot, () => dispatch.publicKeyPem),
    live,
    wakeRelay: () => dispatch.wakeRelay(),
  });
  try {
    await runtime.start();
  } catch (e) {
    process.off('SIGHUP', onEarlyHup);
    await http.stop();
    await live.stop();
    await runtime.stop();
    await dispatch.stop();
    throw e;
  }
  const failed = runtime.status().filter((c) => c.state === 'failed').map((c) => c.id);
  log.info({ url: http.url, config: loaded.file, cameras: loaded.config.cameras.length, failed, detectors: detection.status().map((d) => d.id) }, 'streetwatch running');
  // Exiting would also take down the console and the dispatch of tickets already made; the operator fixes
  // what the log names and reloads, as for a camera that fails later.
  if (failed.length && failed.length === runtime.status().length) {
    log.error({ failed }, 'no camera is running (see the errors above); the console and ticket dispatch stay up. Fix the problems and reload the config (SIGHUP, or save the file).');
  }

  let reloading = Promise.resolve();
  const reload = (why: 'file' | 'SIGHUP') => {
    reloading = reloading.then(async () => {
      try {
        const next = await loadConfig(loaded.file);
        const res = await runtime.apply(next.config, next.baseDir);
        dispatch.apply(next.config);
        config = next.config;
        metrics.configReloads.inc({ result: 'applied' });
        log.info({ why, ...res }, 'config reloaded');
        if (res.needsRestart.length) log.warn({ sections: res.needsRestart }, 'these settings changed but take effect only after a restart');
      } catch (e) {
        metrics.configReloads.inc({ result: 'rejected' });
        const issues = isStreetwatchError(e) ? e.details.issues : undefined;
        log.error({ why, code: isStreetwatchError(e) ? e.code : undefined, issues }, `new config rejected, the running one stays: ${(e as Error).message}`);
      }
    });
  };
  const unwatch = watchConfig(loaded.file, reload);
  process.off('SIGHUP', onEarlyHup);
  if (hupWhileStarting) reload('SIGHUP');

  await stopSignal((signal) => log.info({ signal }, 'stopping'));
  unwatch();
  await reloading;
  await http.stop();
  await live.stop();
  await runtime.stop();
  await dispatch.stop();
  log.info('stopped');
  return 0;
}
