import { z } from 'zod';
import { timezoneSchema, zoneSchema } from './zones.js';
import { dispatchSchema } from './dispatch.js';
import { consoleSchema } from './console.js';

/**
 * The configuration file's schema (YAML, validated by zod). Every object is strict: an unknown key is an
 * error, because a misspelt key silently falling back to a default is how cameras end up misconfigured.
 * config/example.yaml documents every key; keep the two in step.
 */

const seconds = (what: string) => z.number({ error: `${what} must be a number of seconds` }).positive();

export const backoffSchema = z.strictObject({
  initialSec: seconds('initialSec').default(1),
  maxSec: seconds('maxSec').default(10),
  factor: z.number().min(1).default(2),
  jitter: z.number().min(0).max(1).default(0.3),
});

export const rtspSourceSchema = z.strictObject({
  kind: z.literal('rtsp'),
  /** rtsp://[user:password@]host[:port]/path. Credentials are redacted in every log line. */
  url: z.string().regex(/^rtsps?:\/\//i, 'must start with rtsp:// or rtsps://'),
  transport: z.enum(['tcp', 'udp']).default('tcp'),
  /** Socket timeout for connect and read; ffmpeg gives up after about 4× this on a hung server. */
  timeoutSec: seconds('timeoutSec').default(5),
});

export const fileSourceSchema = z.strictObject({
  kind: z.literal('file'),
  /** A path (relative to the config file) or `asset:<name>` (found by the asset resolver). */
  path: z.string().min(1),
  loop: z.boolean().default(false),
  /** Read at the video's own rate (-re), as a camera would deliver it; false reads as fast as possible. */
  realtime: z.boolean().default(true),
  /**
   * Wall-clock time of the video's first frame (ISO 8601 with offset) for a file read faster than real time:
   * frames are stamped from it, so rules with hours judge a replay by when it was recorded. Default: when
   * decoding starts.
   */
  startTime: z.iso.datetime({ offset: true }).optional(),
});

export const telemetrySchema = z.strictObject({
  /** NMEA 0183 (RMC/GGA) or JSON lines `{ts, lat, lon, heading, speed}`; `auto` decides by content. */
  format: z.enum(['auto', 'nmea', 'jsonl']).default('auto'),
  /** Sidecar file; relative to the config file, or `asset:<name>`. Appended lines are followed (tail). */
  path: z.string().min(1),
  /** A frame farther than this from every fix gets `no_fix` instead of a guessed position. */
  maxGapSec: seconds('maxGapSec').default(5),
  /**
   * Wall-clock time of PTS 0 for a recorded (file) video, ISO 8601 with offset. Default: the first fix's time.
   * Live RTSP video ignores it (frames are stamped on arrival).
   */
  videoStartTime: z.iso.datetime({ offset: true }).optional(),
});

/**
 * How a patrol vehicle tells a stall from a passing sight (rules/vehicle.ts). A moving camera cannot watch an
 * object stand still, so a violation is the same thing seen at the same place on two separate passes, at
 * least the rule's dwell apart; one pass, however long (stopped at a light beside it), is never one.
 */
export const revisitSchema = z.strictObject({
  /**
   * Metres between the vehicle's positions on two sightings for them to be the same spot. The position is
   * the vehicle's, not the object's, and GNSS drifts by several metres, so this is looser than the object.
   */
  sameSpotMeters: z.number({ error: 'sameSpotMeters must be a number of metres' }).positive().max(1000).default(25),
  /** A sighting this long after the spot's previous one, with the vehicle gone from the spot in between, is a new pass. */
  newPassAfterSec: seconds('newPassAfterSec').default(60),
  /** A spot not seen again for this long is forgotten (memory stays bounded; a later sighting starts afresh). */
  forgetAfterSec: seconds('forgetAfterSec').default(14400),
});

export const vehicleSourceSchema = z.strictObject({
  kind: z.literal('vehicle'),
  video: z.discriminatedUnion('kind', [rtspSourceSchema, fileSourceSchema]),
  telemetry: telemetrySchema,
  /** Optional; absent means every default (rules/vehicle.ts applies them). */
  revisit: revisitSchema.optional(),
});

export const sourceSchema = z.discriminatedUnion('kind', [rtspSourceSchema, fileSourceSchema, vehicleSourceSchema]);

export const samplingSchema = z.discriminatedUnion('mode', [
  /**
   * Decode keyframes only: ~10× cheaper than every frame. `minIntervalSec`: decode a keyframe only when at
   * least this long (camera time) passed since the last decoded one (4 with a 2 s GOP = every other keyframe);
   * the others are skipped before decoding, which is most of a camera's cost. 0 decodes every keyframe.
   * Default 4: a look every 4 s lets a 2-core machine carry 150 cameras with room to spare (≈ 1.0 % of a core
   * per camera, up to 180 cameras; every keyframe: 1.41 %, 120 cameras), and the rules judge stillness by time
   * and looks, so eval finds the same violations at 4 s as at 2 s (docs/CAPACITY.md).
   */
  z.strictObject({ mode: z.literal('keyframes'), minIntervalSec: z.number().min(0).max(9).default(4) }),
  /** Decode everything and keep `fps` frames per second (may be fractional, e.g. 0.5). */
  z.strictObject({ mode: z.literal('fps'), fps: z.number().positive().max(30) }),
]);

/**
 * The frames the detectors get. 416×234 is YOLOX-Nano's input width at 16:9: with 640×360, 2.4× the bytes were
 * scaled, piped, copied and collected only to be shrunk to 416 in node (capacity bench, 60 cameras: 2.67 → 2.34 %
 * of a core per camera; eval: the same hits, at most one frame apart).
 */
export const frameSizeSchema = z.strictObject({
  width: z.number().int().min(16).max(3840).default(416),
  height: z.number().int().min(16).max(2160).default(234),
});

export const ringSchema = z.strictObject({
  enabled: z.boolean().default(true),
  segmentSec: z.number().min(1).max(10).default(2),
  /**
   * Minutes of video kept at most per camera, while something stands in one of its zones (from its first
   * sighting, for the evidence's stills and clip); older segments are deleted.
   */
  keepMinutes: z.number().positive().default(10),
  /**
   * Seconds kept while nothing stands in the camera's zones. Never less than an update's clip needs
   * (evidence.clipBeforeSec + clipAfterSec + two segments).
   */
  idleKeepSec: z.number().min(0).max(3600).default(20),
});

/**
 * A detector enabled on a camera. `shadow` runs it and records its hits marked shadow — evaluated, never
 * dispatched: how the algorithms team tries a new model on live cameras.
 */
export const cameraDetectorSchema = z.strictObject({
  /** Warehouse id (`streetwatch detectors` lists them). */
  id: z.string().min(1),
  mode: z.enum(['active', 'shadow']).default('active'),
  /** The detector's own options (its zod schema checks them; unknown options are errors). */
  options: z.record(z.string(), z.unknown()).optional(),
});

export const cameraSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'use letters, digits, . _ - (at most 64)'),
  name: z.string().optional(),
  enabled: z.boolean().default(true),
  source: sourceSchema,
  sampling: samplingSchema.optional(),
  frame: frameSizeSchema.optional(),
  ring: ringSchema.optional(),
  /** No frame for this long → the camera is marked down and its decoder restarted. */
  watchdogSec: seconds('watchdogSec').optional(),
  reconnect: backoffSchema.optional(),
  location: z
    .strictObject({
      lat: z.number().min(-90).max(90),
      lon: z.number().min(-180).max(180),
      address: z.string().optional(),
      /** Street/town jurisdiction (街道/镇), used by dispatch routing. */
      jurisdiction: z.string().optional(),
    })
    .optional(),
  zones: z.array(zoneSchema).default([]),
  /** Detectors for this camera; default: `defaults.detectors`. */
  detectors: z.array(cameraDetectorSchema).optional(),
});

export const configSchema = z.strictObject({
  version: z.literal(1, { error: 'version must be 1' }),
  site: z
    .strictObject({
      name: z.string().default('streetwatch'),
      /** IANA name; checked, because a typo would silently shift every zone's active hours. */
      timezone: timezoneSchema.default('Asia/Shanghai'),
    })
    .prefault({}),
  /** Values every camera inherits unless it sets its own. */
  defaults: z
    .strictObject({
      sampling: samplingSchema.prefault({ mode: 'keyframes' }),
      frame: frameSizeSchema.prefault({}),
      ring: ringSchema.prefault({}),
      watchdogSec: seconds('watchdogSec').default(8),
      reconnect: backoffSchema.prefault({}),
      detectors: z.array(cameraDetectorSchema).default([{ id: 'yolox-nano-416', mode: 'active' }, { id: 'static-object', mode: 'active' }]),
    })
    .prefault({}),
  storage: z
    .strictObject({
      /** Root for the segment rings, the store and evidence; relative to the config file. */
      dataDir: z.string().default('./data'),
    })
    .prefault({}),
  /** Evidence packages (证据锁定): where, how they are signed, how long they are kept. */
  evidence: z
    .strictObject({
      /** Root of the packages; relative to the config file. Default: <storage.dataDir>/evidence. */
      root: z.string().min(1).optional(),
      /** The Ed25519 key pair folder (`streetwatch keys init`). Default: <storage.dataDir>/keys; made at first start if missing. */
      keysDir: z.string().min(1).optional(),
      /** Seconds of video before the first sighting and after the latest in the clip. */
      clipBeforeSec: z.number().min(0).max(60).default(5),
      clipAfterSec: z.number().min(0).max(60).default(5),
      /** Packages older than this are deleted, unless their incident is not acknowledged yet. */
      retentionDays: z.number().positive().default(180),
      /** Disk quota for all packages, GB; the oldest acknowledged ones go first when it is exceeded. */
      quotaGb: z.number().positive().default(50),
    })
    .prefault({}),
  /** Incidents: how hits merge and recur. */
  incidents: z
    .strictObject({
      /** After an incident is resolved or rejected, hits at its place are suppressed this long; later ones open a new incident (a recurrence, if it was resolved). */
      cooldownMinutes: z.number().min(0).default(30),
      /** Vehicle hits this close (metres) are one place. */
      sameSpotMeters: z.number().positive().default(25),
    })
    .prefault({}),
  /**
   * Where keyframes are decoded (keyframe sampling, H.264). Shared: each camera's ffmpeg only receives (ring +
   * keyframes) and a few decoder processes decode the keyframes of all cameras — less memory per camera, and
   * keyframes skipped by `sampling.minIntervalSec` are never decoded. Off: every camera decodes in its own ffmpeg.
   * H.265 cameras and `fps` sampling always decode in their own ffmpeg.
   */
  decoding: z
    .strictObject({
      shared: z.boolean().default(true),
      /** Decoder processes per frame size; 0 = one per CPU core. */
      processes: z.number().int().min(0).max(64).default(0),
      /** Keyframes waiting in one decoder beyond which a live camera's keyframe is dropped (drop point decode_queue_full). */
      maxPending: z.number().int().positive().default(64),
      /**
       * Niceness of the cameras' receivers (their own ffmpeg on shared decoding). What a late receiver owes
       * waits in its socket buffer and is lost by nobody; a late shared decoder or event loop drops frames.
       */
      receiverNice: z.number().int().min(0).max(19).default(5),
    })
    .prefault({}),
  scheduler: z
    .strictObject({
      /** Frames waiting for the detectors at most; beyond it frames wait in their camera's latest-frame slot. */
      queueCapacity: z.number().int().positive().default(32),
      /** A frame older than this when the detectors reach it is dropped as stale. */
      maxFrameAgeSec: seconds('maxFrameAgeSec').default(10),
      maxBatch: z.number().int().positive().default(8),
    })
    .prefault({}),
  http: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      /** /metrics, /healthz and the console. 0 picks a free port. */
      port: z.number().int().min(0).max(65535).default(8080),
    })
    .prefault({}),
  /** How detectors run in this process. */
  detection: z
    .strictObject({
      /** ONNX intra-op threads per inference. */
      threads: z.number().int().min(1).max(64).default(1),
      /** Batches of one detector running at once (a pool of runs for batch-1 models). */
      concurrency: z.number().int().min(1).max(64).default(2),
      /** Deadline of one detector call; an overrun is abandoned and the detector re-created. */
      deadlineSec: seconds('deadlineSec').default(10),
      /** Restarts allowed per window before a detector is taken out of service. */
      restartBudget: z.strictObject({ max: z.number().int().min(0).default(5), windowSec: seconds('windowSec').default(600) }).prefault({}),
      /**
       * Labelling on demand (pipeline/label-gate.ts): a camera's object detectors run on a frame when the
       * trigger (the static-object detector) found something on it, else at least every `everySec`. A camera
       * without the trigger runs every detector on every frame.
       */
      labelOnDemand: z
        .strictObject({
          enabled: z.boolean().default(true),
          trigger: z.string().min(1).default('static-object'),
          /**
           * Below the tracker's 10 s without a sighting, so followed objects keep their tracks. 9 rather than 6:
           * YOLOX 15.6 → 9.8 calls/s and node 0.86 → 0.75 % of a core per camera at 80 cameras, eval the same hits.
           */
          everySec: z.number().positive().max(9, 'everySec must stay below the tracker\'s 10 s without a sighting (at most 9)').default(9),
        })
        .prefault({}),
    })
    .prefault({}),
  log: z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') }).prefault({}),
  cameras: z.array(cameraSchema).default([]),
  dispatch: dispatchSchema.optional(),
  /** The command-room console: access tokens, plan view, live view. */
  console: consoleSchema,
});

export type Config = z.infer<typeof configSchema>;
export type CameraConfig = z.infer<typeof cameraSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
export type RtspSourceConfig = z.infer<typeof rtspSourceSchema>;
export type FileSourceConfig = z.infer<typeof fileSourceSchema>;
export type VehicleSourceConfig = z.infer<typeof vehicleSourceSchema>;
export type TelemetryConfig = z.infer<typeof telemetrySchema>;
export type RevisitConfig = z.infer<typeof revisitSchema>;
export type SamplingConfig = z.infer<typeof samplingSchema>;
export type FrameSizeConfig = z.infer<typeof frameSizeSchema>;
export type RingConfig = z.infer<typeof ringSchema>;
export type BackoffConfig = z.infer<typeof backoffSchema>;

/** A camera with every default filled in from `defaults`: what the pipeline actually runs. */
export type CameraDetectorConfig = z.infer<typeof cameraDetectorSchema>;

export interface ResolvedCamera extends Omit<CameraConfig, 'sampling' | 'frame' | 'ring' | 'watchdogSec' | 'reconnect' | 'detectors'> {
  detectors: CameraDetectorConfig[];
  sampling: SamplingConfig;
  frame: FrameSizeConfig;
  ring: RingConfig;
  watchdogSec: number;
  reconnect: BackoffConfig;
}

export function resolveCamera(cfg: Config, cam: CameraConfig): ResolvedCamera {
  return {
    ...cam,
    sampling: cam.sampling ?? cfg.defaults.sampling,
    frame: cam.frame ?? cfg.defaults.frame,
    ring: cam.ring ?? cfg.defaults.ring,
    watchdogSec: cam.watchdogSec ?? cfg.defaults.watchdogSec,
    reconnect: cam.reconnect ?? cfg.defaults.reconnect,
    detectors: cam.detectors ?? cfg.defaults.detectors,
  };
}
