import client, { Registry } from 'prom-client';

/**
 * All Prometheus metrics of a process, on one registry. Names follow Prometheus conventions:
 * `streetwatch_` prefix, `_total` counters, base units (seconds, bytes). Labels are camera ids (never URLs).
 */
export function createMetrics(registry: Registry = new Registry()) {
  client.collectDefaultMetrics({ register: registry, prefix: 'streetwatch_process_' });
  const m = {
    registry,
    framesDecoded: new client.Counter({
      name: 'streetwatch_frames_decoded_total',
      help: 'Sampled frames that arrived from ffmpeg, by camera.',
      labelNames: ['camera'] as const,
      registers: [registry],
    }),
    framesDropped: new client.Counter({
      name: 'streetwatch_frames_dropped_total',
      help: 'Frames dropped before detection, by camera and reason (superseded, stale, camera_removed, shutdown; shared decoding: decode_queue_full, undecodable, decoder_exit).',
      labelNames: ['camera', 'reason'] as const,
      registers: [registry],
    }),
    framesScheduled: new client.Counter({
      name: 'streetwatch_frames_scheduled_total',
      help: 'Frames handed from the scheduler to the detection stage, by camera.',
      labelNames: ['camera'] as const,
      registers: [registry],
    }),
    framesWithoutFix: new client.Counter({
      name: 'streetwatch_frames_without_gps_fix_total',
      help: 'Vehicle frames that carried no GPS position (no fix near their time), by camera.',
      labelNames: ['camera'] as const,
      registers: [registry],
    }),
    cameraUp: new client.Gauge({
      name: 'streetwatch_camera_up',
      help: '1 while a camera delivers frames, 0 while it is down or reconnecting.',
      labelNames: ['camera'] as const,
      registers: [registry],
    }),
    cameraFailed: new client.Gauge({
      name: 'streetwatch_camera_failed',
      help: '1 while a camera is failed (not running, until a reload retries it), labelled with the error code: its detectors did not load (MODEL_HASH_MISMATCH, …) or its source failed for good.',
      labelNames: ['camera', 'code'] as const,
      registers: [registry],
    }),
    reconnects: new client.Counter({
      name: 'streetwatch_camera_reconnects_total',
      help: 'Decoder restarts after a failure, by camera and reason (exit, stall, error).',
      labelNames: ['camera', 'reason'] as const,
      registers: [registry],
    }),
    decodeLag: new client.Gauge({
      name: 'streetwatch_decode_lag_seconds',
      help: 'Wall-clock time between when a live frame was due (stream start + PTS) and when it left ffmpeg.',
      labelNames: ['camera'] as const,
      registers: [registry],
    }),
    schedulerQueue: new client.Gauge({
      name: 'streetwatch_scheduler_queue_frames',
      help: 'Frames waiting in the scheduler queue toward the detectors.',
      registers: [registry],
    }),
    schedulerWait: new client.Histogram({
      name: 'streetwatch_scheduler_wait_seconds',
      help: 'Seconds a frame waited from its arrival at the scheduler until the detectors took it (queue wait).',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    ringSegmentsDeleted: new client.Counter({
      name: 'streetwatch_ring_segments_deleted_total',
      help: 'Evidence ring segments deleted because they fell out of the retention window, by camera.',
      labelNames: ['camera'] as const,
      registers: [registry],
    }),
    detectorRuns: new client.Counter({
      name: 'streetwatch_detector_runs_total',
      help: 'Detector batch calls, by detector and result (ok, timeout, crash, invalid_output).',
      labelNames: ['detector', 'result'] as const,
      registers: [registry],
    }),
    detectorSeconds: new client.Histogram({
      name: 'streetwatch_detector_seconds',
      help: 'Duration of one detector batch call, by detector.',
      labelNames: ['detector'] as const,
      buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers: [registry],
    }),
    detectorRestarts: new client.Counter({
      name: 'streetwatch_detector_restarts_total',
      help: 'Detector instances re-created after a hang or crash, by detector and reason.',
      labelNames: ['detector', 'reason'] as const,
      registers: [registry],
    }),
    detections: new client.Counter({
      name: 'streetwatch_detections_total',
      help: 'Detections, by camera, detector, mode (active, shadow) and semantic label.',
      labelNames: ['camera', 'detector', 'mode', 'semantic'] as const,
      registers: [registry],
    }),
    framesDetected: new client.Counter({
      name: 'streetwatch_frames_detected_total',
      help: 'Frames that went through a detector, by camera, detector and result (ok, failed).',
      labelNames: ['camera', 'detector', 'result'] as const,
      registers: [registry],
    }),
    hits: new client.Counter({
      name: 'streetwatch_hits_total',
      help: 'Rule hits (one observation of a violation), by camera, type, zone and whether from shadow detectors.',
      labelNames: ['camera', 'type', 'zone', 'shadow'] as const,
      registers: [registry],
    }),
    incidents: new client.Counter({
      name: 'streetwatch_incident_hits_total',
      help: 'Hits by what they did to the incidents (created, extended, suppressed during a cool-down), by type.',
      labelNames: ['type', 'decision'] as const,
      registers: [registry],
    }),
    tickets: new client.Counter({
      name: 'streetwatch_tickets_total',
      help: 'Tickets written to the outbox, by type and squad.',
      labelNames: ['type', 'squad'] as const,
      registers: [registry],
    }),
    liveDropped: new client.Counter({
      name: 'streetwatch_live_dropped_bytes_total',
      help: 'Live-view video bytes dropped for a viewer that could not keep up (drop point live_slow_viewer), by camera.',
      labelNames: ['camera'] as const,
      registers: [registry],
    }),
    liveStreams: new client.Gauge({
      name: 'streetwatch_live_streams',
      help: 'Live-view streams holding an ffmpeg slot (console.live.maxStreams).',
      registers: [registry],
    }),
    consoleClients: new client.Gauge({
      name: 'streetwatch_console_feed_clients',
      help: 'Consoles connected to the live incident feed (WS /api/events).',
      registers: [registry],
    }),
    consoleAuthFailures: new client.Counter({
      name: 'streetwatch_console_auth_failures_total',
      help: 'Console requests refused with 401, by reason (missing: no token, unknown: a token not in console.tokens, unconfigured: no tokens configured).',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    consoleRateLimited: new client.Counter({
      name: 'streetwatch_console_rate_limited_total',
      help: 'Console logins refused with 429 because their address made console.authFailures.max failed logins within windowSec.',
      registers: [registry],
    }),
    ticketsSent: new client.Counter({
      name: 'streetwatch_tickets_sent_total',
      help: 'Outbox messages the brokers acknowledged.',
      registers: [registry],
    }),
    dispatchLatency: new client.Histogram({
      name: 'streetwatch_ticket_ack_seconds',
      help: 'Seconds from a ticket\'s outbox write to the brokers\' acknowledgement.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120, 600],
      registers: [registry],
    }),
    statusMalformed: new client.Counter({
      name: 'streetwatch_status_malformed_total',
      help: 'Malformed ticket-status messages sent to the dead-letter topic, by reason.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    statusRefused: new client.Counter({
      name: 'streetwatch_status_refused_total',
      help: 'Well-formed ticket-status messages refused and dead-lettered: from a squad that does not hold the ticket, for an unknown ticket, or not moving it forward.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    evidenceFailed: new client.Counter({
      name: 'streetwatch_evidence_failed_total',
      help: 'Incidents whose evidence could not be packaged.',
      registers: [registry],
    }),
    evidenceLost: new client.Counter({
      name: 'streetwatch_evidence_lost_total',
      help: 'Owed evidence packages that could not be made and were marked lost (kind: full, update): the ring rotated past them during a crash, a full disk, a failing ffmpeg.',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    evidenceOwed: new client.Gauge({
      name: 'streetwatch_evidence_owed',
      help: 'Evidence packages owed and not yet made (recorded with their incident; finished after a restart).',
      registers: [registry],
    }),
    evidenceFreeBytes: new client.Gauge({
      name: 'streetwatch_evidence_free_bytes',
      help: 'Bytes free on the filesystem of the evidence root (statfs, what a non-root writer may use); packages are refused below the packager\'s floor.',
      registers: [registry],
    }),
    configReloads: new client.Counter({
      name: 'streetwatch_config_reloads_total',
      help: 'Configuration reloads, by result (applied, rejected).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Removes every series of one camera (after it is removed from the config) so dashboards do not show ghosts. */
export function forgetCamera(m: Metrics, camera: string): void {
  for (const metric of [m.framesDecoded, m.framesScheduled, m.framesWithoutFix, m.cameraUp, m.decodeLag, m.ringSegmentsDeleted]) {
    metric.remove({ camera });
  }
  setCameraFailed(m, camera, undefined);
}

// The code each failed camera's series carries, so a new code or a recovery removes the old series instead
// of leaving a stale 1 behind (prom-client removes a series only by its full label set).
const failedCodes = new WeakMap<Metrics, Map<string, string>>();

/** Marks a camera failed with `code` (one series per camera at a time), or no longer failed (undefined). */
export function setCameraFailed(m: Metrics, camera: string, code: string | undefined): void {
  let codes = failedCodes.get(m);
  if (!codes) failedCodes.set(m, (codes = new Map()));
  const prev = codes.get(camera);
  if (prev !== undefined && prev !== code) m.cameraFailed.remove({ camera, code: prev });
  if (code === undefined) {
    codes.delete(camera);
    return;
  }
  codes.set(camera, code);
  m.cameraFailed.set({ camera, code }, 1);
}
