import type { ResolvedCamera } from '../config/schema.js';
import { StreetwatchError, toStreetwatchError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { setCameraFailed, type Metrics } from '../core/metrics.js';
import { backoffDelay, sleep, type BackoffPolicy } from '../core/retry.js';
import type { Frame, FramePosition } from '../core/types.js';
import type { DecoderArgsSpec } from './ffmpeg/args.js';
import { FfmpegDecoder, type DecoderExit } from './ffmpeg/decoder.js';
import { RING_CODECS, classifyFfmpegFailure, parseInputVideoCodec } from './ffmpeg/failure.js';
import type { FlvVideoFrame } from './ffmpeg/flv.js';
import type { DecodePool } from './decode-pool.js';
import { pickKeyframe } from './keyframe-pick.js';
import { FrameClock } from './frame-clock.js';
import { ringDir, SegmentRing } from './ring.js';
import { buildSource, type CameraSource } from './sources/source.js';

/** Where a vehicle frame's position comes from (the telemetry feed); see sources/telemetry. */
export interface PositionSource {
  start(): Promise<void>;
  stop(): Promise<void>;
  positionAt(wallMs: number, maxGapMs: number): FramePosition;
  /** Time of the first fix, the default wall time of PTS 0 for a recorded vehicle video. */
  firstFixMs(): number | undefined;
}

export type CameraState = 'starting' | 'up' | 'down' | 'ended' | 'failed' | 'stopped';

export interface CameraStatus {
  id: string;
  name?: string;
  kind: CameraSource['kind'] | 'unknown';
  source: string;
  state: CameraState;
  since: number;
  lastFrameAt?: number;
  frames: number;
  reconnects: number;
  codec?: string;
  lastError?: { code: string; message: string; at: number };
  /**
   * The last config change of this running camera that was not applied because its detectors did not load:
   * the camera keeps running on its previous config until a reload loads them.
   */
  refused?: { code: string; message: string; at: number };
}

/**
 * The status of a camera that was not started because its detectors did not load: failed, with the error,
 * until a config reload loads them. `since` carries over from `prev` while the error code stays the same.
 */
export function notStartedStatus(camera: ResolvedCamera, baseDir: string, err: StreetwatchError, prev?: CameraStatus): CameraStatus {
  let source = '';
  try {
    source = buildSource(camera, baseDir).display;
  } catch {
    // the source has its own problem; it is reported once the camera starts
  }
  const at = Date.now();
  const since = prev?.state === 'failed' && prev.lastError?.code === err.code ? prev.since : at;
  return { id: camera.id, name: camera.name, kind: camera.source.kind, source, state: 'failed', since, frames: 0, reconnects: 0, lastError: { code: err.code, message: err.message, at } };
}

export interface CameraDeps {
  baseDir: string;
  dataDir: string;
  metrics: Metrics;
  log: Logger;
  onFrame: (frame: Frame) => void;
  /** Builds the telemetry feed of a vehicle camera. */
  createPositionSource?: (cam: ResolvedCamera, source: CameraSource) => PositionSource;
  ffmpegPath?: string;
  random?: () => number;
  /** Step of ffmpeg's stop sequence (q → SIGTERM → SIGKILL), ms. */
  stopStepMs?: number;
  /**
   * The shared keyframe decoders (config `decoding.shared`). With it, an H.264 camera sampling keyframes runs a
   * receiver ffmpeg (ring + keyframes) and its keyframes are decoded here; without it, or for H.265 and fps
   * sampling, the camera's own ffmpeg decodes.
   */
  decodePool?: DecodePool;
  /**
   * What evidence may still need from a camera's ring: the earliest of when whatever now stands in its zones
   * was first seen and what evidence already owed (durably, by the dispatcher) starts from (-Infinity: keep
   * everything up to keepMinutes; undefined: nothing), and the clip margins. Without it the ring keeps only
   * `idleKeepSec`.
   */
  evidenceNeeds?: { firstSightingMs: (cameraId: string) => number | undefined; clipBeforeSec: number; clipAfterSec: number };
}

/**
 * Runs one camera: builds its source, keeps one ffmpeg decoder alive (respawning after any exit with capped
 * exponential backoff and jitter), watches for stalls, keeps the evidence ring bounded and stamps frames
 * (time, and position for vehicles). A camera that fails never affects another one.
 */
export class CameraRunner {
  private readonly abort = new AbortController();
  private decoder: FfmpegDecoder | undefined;
  private loop: Promise<void> | undefined;
  private ring: SegmentRing | undefined;
  private positions: PositionSource | undefined;
  private source: CameraSource | undefined;
  private readonly st: CameraStatus;
  private stopping: Promise<void> | undefined;
  private readonly log: Logger;
  private seq = 0;
  /** Set when the receiver found a codec the shared decoders cannot take: this camera decodes in its own ffmpeg. */
  private ownDecoder = false;
  /** PTS of the last keyframe sent to the shared decoders, for `sampling.minIntervalSec`. */
  private lastPickedPtsSec: number | undefined;

  constructor(
    readonly camera: ResolvedCamera,
    private readonly deps: CameraDeps,
  ) {
    this.log = deps.log.child({ camera: camera.id });
    this.st = { id: camera.id, name: camera.name, kind: 'unknown', source: '', state: 'starting', since: Date.now(), frames: 0, reconnects: 0 };
    deps.metrics.cameraUp.set({ camera: camera.id }, 0);
  }

  status(): CameraStatus {
    return { ...this.st, ...(this.st.lastError ? { lastError: { ...this.st.lastError } } : {}) };
  }

  /** Resolves once the first decoder is spawned (or the camera failed for good). Never throws for the camera's own faults. */
  async start(): Promise<void> {
    if (this.loop) return;
    try {
      this.source = buildSource(this.camera, this.deps.baseDir);
      this.st.kind = this.source.kind;
      this.st.source = this.source.display;
      if (this.source.telemetry) {
        if (!this.deps.createPositionSource) throw new Error('vehicle camera without a telemetry feed factory');
        this.positions = this.deps.createPositionSource(this.camera, this.source);
        await this.positions.start();
      }
      if (this.camera.ring.enabled && !this.source.live) {
        this.log.info('no evidence ring for a file read faster than real time: evidence is cut from the file itself');
      }
      if (this.camera.ring.enabled && this.source.live) {
        const { segmentSec, idleKeepSec } = this.camera.ring;
        const needs = this.deps.evidenceNeeds;
        this.ring = new SegmentRing({
          dir: ringDir(this.deps.dataDir, this.camera.id),
          keepMinutes: this.camera.ring.keepMinutes,
          // never less than an update's clip (around its latest sighting) needs
          idleKeepSec: needs ? Math.max(idleKeepSec, needs.clipBeforeSec + needs.clipAfterSec + 2 * segmentSec) : idleKeepSec,
          ...(needs
            ? {
                pinFromMs: () => {
                  const first = needs.firstSightingMs(this.camera.id);
                  return first === undefined ? undefined : first - (needs.clipBeforeSec + segmentSec) * 1000;
                },
              }
            : {}),
          segmentSec,
          onDeleted: (files) => this.deps.metrics.ringSegmentsDeleted.inc({ camera: this.camera.id }, files.length),
          onError: (e) => this.log.warn({ err: e }, 'ring pruning failed'),
        });
        await this.ring.start();
      }
    } catch (e) {
      this.fail(toStreetwatchError(e));
      return;
    }
    let spawned!: () => void;
    const firstSpawn = new Promise<void>((r) => (spawned = r));
    this.loop = this.supervise(spawned).catch((e) => this.fail(toStreetwatchError(e)));
    await Promise.race([firstSpawn, this.loop]);
  }

  /** Idempotent: stops the decoder (q → SIGTERM → SIGKILL), the ring pruner and the telemetry feed. */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      this.abort.abort();
      await this.decoder?.stop();
      await this.loop;
      this.deps.decodePool?.release(this.camera.id);
      await this.ring?.stop();
      await this.positions?.stop();
      this.setState('stopped');
      this.deps.metrics.cameraUp.set({ camera: this.camera.id }, 0);
      // a failure ends with the runner: the camera is removed, or restarted and reports anew
      setCameraFailed(this.deps.metrics, this.camera.id, undefined);
    })());
  }

  /** The evidence ring, for the evidence packager. */
  get segmentRing(): SegmentRing | undefined {
    return this.ring;
  }

  private async supervise(spawned: () => void): Promise<void> {
    const policy: BackoffPolicy = {
      initialMs: this.camera.reconnect.initialSec * 1000,
      maxMs: this.camera.reconnect.maxSec * 1000,
      factor: this.camera.reconnect.factor,
      jitter: this.camera.reconnect.jitter,
    };
    let attempt = 0;
    while (!this.abort.signal.aborted) {
      const exit = await this.runOnce(spawned);
      if (this.abort.signal.aborted) return;
      if (exit.reason === 'switch') continue; // same camera, now decoded in its own ffmpeg: no backoff
      if (exit.frames > 0) attempt = 0;
      const source = this.source!;
      const fileEnded = source.input.kind === 'file' && !source.input.loop && exit.code === 0 && !exit.stoppedByUs && exit.frames > 0;
      if (fileEnded) {
        this.log.info({ frames: this.st.frames }, 'file source ended');
        this.setState('ended');
        this.deps.metrics.cameraUp.set({ camera: this.camera.id }, 0);
        return;
      }
      const err = exit.error;
      if (!err.retriable) {
        this.fail(err);
        return;
      }
      this.st.lastError = { code: err.code, message: err.message, at: Date.now() };
      this.setState('down');
      this.deps.metrics.cameraUp.set({ camera: this.camera.id }, 0);
      const delay = backoffDelay(attempt++, policy, this.deps.random);
      this.st.reconnects++;
      this.deps.metrics.reconnects.inc({ camera: this.camera.id, reason: exit.reason });
      this.log.warn({ code: err.code, reason: exit.reason, retryInMs: delay, attempt }, `camera down: ${err.message}`);
      try {
        await sleep(delay, this.abort.signal);
      } catch {
        return;
      }
    }
  }

  /** `seq` when the current decoder was spawned: a run has delivered its first frame once they differ. */
  private seqAtSpawn = 0;

  /** One decoder run, from spawn to exit, with the watchdog. */
  private async runOnce(spawned: () => void): Promise<DecoderExit & { error: StreetwatchError; reason: 'exit' | 'stall' | 'error' | 'switch' }> {
    const source = this.source!;
    const cam = this.camera;
    const pool = this.ownDecoder || cam.sampling.mode !== 'keyframes' ? undefined : this.deps.decodePool;
    const spec: DecoderArgsSpec = {
      input: source.input,
      sampling: cam.sampling,
      frame: cam.frame,
      decode: pool ? 'shared' : 'camera',
      ...(this.ring ? { ring: { ...cam.ring, dir: this.ring.dir } } : {}),
    };
    const startWall = source.live ? undefined : (this.videoStartMs() ?? Date.now());
    const clock = new FrameClock(source.live, startWall);
    let stalled = false;
    let switching = false;
    let refused: StreetwatchError | undefined;
    let codecSeen = false;
    let lastFrameAt = Date.now();
    const minIntervalSec = cam.sampling.mode === 'keyframes' ? cam.sampling.minIntervalSec : 0;
    // `arrivedAt`: when a keyframe for the shared decoders arrived. The clock is anchored on arrival, so the
    // decoders' own start-up and queueing show as decode lag instead of shifting every frame's wall time.
    const deliver = (data: Buffer, ptsSec: number, arrivedAt?: number) => {
      if (this.abort.signal.aborted) return; // a shared decoder's late answer for a camera that stopped
      const now = Date.now();
      const { wallMs, lagMs: arrivalLagMs } = clock.stamp(ptsSec, arrivedAt ?? now);
      const lagMs = arrivalLagMs === undefined ? undefined : arrivalLagMs + (now - (arrivedAt ?? now));
      const frame: Frame = {
        cameraId: cam.id,
        seq: this.seq++,
        ptsSec,
        wallMs,
        width: cam.frame.width,
        height: cam.frame.height,
        format: 'rgb24',
        data,
      };
      if (this.positions && source.telemetry) {
        frame.position = this.positions.positionAt(wallMs, source.telemetry.maxGapSec * 1000);
        if (frame.position.status === 'no_fix') this.deps.metrics.framesWithoutFix.inc({ camera: cam.id });
      }
      this.st.frames++;
      this.st.lastFrameAt = now;
      this.deps.metrics.framesDecoded.inc({ camera: cam.id });
      if (lagMs !== undefined) this.deps.metrics.decodeLag.set({ camera: cam.id }, lagMs / 1000);
      if (this.st.state !== 'up') {
        this.setState('up');
        this.deps.metrics.cameraUp.set({ camera: cam.id }, 1);
        this.log.info({ codec: this.st.codec }, 'camera up');
      }
      this.deps.onFrame(frame);
    };
    // A keyframe from the receiver proves the camera alive; those spaced by minIntervalSec are decoded.
    const onKeyframe = (kf: FlvVideoFrame): Promise<void> | undefined => {
      const arrivedAt = Date.now();
      lastFrameAt = arrivedAt;
      const ptsSec = kf.ptsMs / 1000;
      if (!pickKeyframe(this.lastPickedPtsSec, ptsSec, minIntervalSec)) return undefined;
      this.lastPickedPtsSec = ptsSec;
      const answered = pool!.decode(cam.id, cam.frame, kf.annexB, !source.live).then((out) => {
        if (out.ok) deliver(out.data, ptsSec, arrivedAt);
        else this.deps.metrics.framesDropped.inc({ camera: cam.id, reason: out.reason });
      });
      // A file read as fast as possible waits for each answer; a live camera never waits for the decoders.
      return source.live ? undefined : answered;
    };
    const decoder = new FfmpegDecoder({
      spec,
      ffmpegPath: this.deps.ffmpegPath,
      stopStepMs: this.deps.stopStepMs,
      ...(pool
        ? { onKeyframe, nice: pool.receiverNice }
        : {
            onFrame: (data: Buffer, info: { ptsSec: number }) => {
              lastFrameAt = Date.now();
              deliver(data, info.ptsSec);
            },
          }),
      onLine: (line) => {
        if (codecSeen) return;
        const codec = parseInputVideoCodec(line);
        if (!codec) return;
        codecSeen = true;
        this.st.codec = codec;
        if (pool && codec !== 'h264') {
          // FLV in ffmpeg 5.1 carries H.264 only: this camera decodes in its own ffmpeg from now on.
          this.log.info({ codec }, 'not H.264: decoding this camera in its own ffmpeg instead of the shared decoders');
          this.ownDecoder = true;
          switching = true;
          void decoder.stop();
          return;
        }
        if (this.ring && !RING_CODECS.has(codec)) {
          refused = new StreetwatchError(
            'SOURCE_UNSUPPORTED_CODEC',
            `camera '${cam.id}' (${source.display}): video codec '${codec}' is not supported — the evidence ring stream-copies into MPEG-TS, which carries ${[...RING_CODECS].join(', ')}. Configure the camera for H.264 or H.265.`,
            { details: { camera: cam.id, codec } },
          );
          void decoder.stop();
        }
      },
    });
    this.decoder = decoder;
    this.seqAtSpawn = this.seq;
    decoder.start();
    spawned();
    const watchdogMs = cam.watchdogSec * 1000;
    const watchdog = setInterval(() => {
      const limitMs = watchdogLimitMs(watchdogMs, this.seqAtSpawn !== this.seq);
      if (Date.now() - lastFrameAt > limitMs && !stalled) {
        stalled = true;
        this.log.warn({ watchdogSec: cam.watchdogSec, waitedSec: limitMs / 1000 }, 'no frame within the watchdog time: restarting the decoder');
        this.setState('down');
        this.deps.metrics.cameraUp.set({ camera: cam.id }, 0);
        void decoder.stop();
      }
    }, Math.min(1000, watchdogMs / 4));
    const exit = await decoder.exited;
    clearInterval(watchdog);
    this.decoder = undefined;
    if (exit.spawnError) {
      return { ...exit, reason: 'error', error: new StreetwatchError('FFMPEG_MISSING', `camera '${cam.id}': cannot start ffmpeg (${exit.spawnError.message}). Install it: apt-get install -y ffmpeg.`, { cause: exit.spawnError }) };
    }
    if (refused) return { ...exit, reason: 'error', error: refused };
    if (switching) return { ...exit, reason: 'switch', error: new StreetwatchError('SOURCE_UNSUPPORTED_CODEC', `camera '${cam.id}': switching to its own decoder`, { retriable: true }) };
    if (exit.streamError) {
      return {
        ...exit,
        reason: 'error',
        error: new StreetwatchError('SOURCE_CORRUPT', `camera '${cam.id}' (${source.display}): its keyframe stream could not be read (${exit.streamError.message}); restarting it.`, { retriable: true, cause: exit.streamError, details: { camera: cam.id } }),
      };
    }
    if (stalled) {
      return {
        ...exit,
        reason: 'stall',
        error: new StreetwatchError('SOURCE_STALLED', `camera '${cam.id}' (${source.display}): no frame for ${cam.watchdogSec} s; restarted the decoder.`, { retriable: true, details: { camera: cam.id } }),
      };
    }
    const error = classifyFfmpegFailure({
      cameraId: cam.id,
      sourceKind: source.input.kind,
      input: source.display,
      code: exit.code,
      signal: exit.signal,
      stderrTail: exit.stderrTail,
    });
    // A looped file that ends is still a drop: respawn it (live streams are classified retriable already).
    const retriable = error.retriable || (source.input.kind === 'file' && source.input.loop && exit.frames > 0);
    return { ...exit, reason: 'exit', error: retriable && !error.retriable ? new StreetwatchError(error.code, error.message, { retriable: true, cause: error, details: error.details }) : error };
  }

  private videoStartMs(): number | undefined {
    const src = this.camera.source;
    const video = src.kind === 'vehicle' ? src.video : src;
    if (video.kind === 'file' && video.startTime) return Date.parse(video.startTime);
    const iso = this.source?.telemetry?.videoStartTime;
    if (iso) return Date.parse(iso);
    return this.positions?.firstFixMs();
  }

  private setState(s: CameraState): void {
    if (this.st.state === s) return;
    this.st.state = s;
    this.st.since = Date.now();
  }

  private fail(err: StreetwatchError): void {
    this.st.lastError = { code: err.code, message: err.message, at: Date.now() };
    this.setState('failed');
    this.deps.metrics.cameraUp.set({ camera: this.camera.id }, 0);
    setCameraFailed(this.deps.metrics, this.camera.id, err.code);
    this.log.error({ code: err.code }, `camera failed: ${err.message}`);
  }
}

/** The first frame of a decoder run may take this much longer than the watchdog time (at least 30 s). */
export const FIRST_FRAME_WATCHDOG_FACTOR = 3;

/**
 * How long a decoder run may go without a frame before the watchdog restarts it. Before its first frame it
 * gets longer: connecting, probing (2 s), waiting for a keyframe (a GOP, up to 10 s on some cameras) — and when
 * a machine starts a hundred cameras at once, each ffmpeg gets a sliver of the CPU. With only the watchdog
 * time, every camera of a large start was restarted once, and at 100 cameras on 2 cores the restarts never
 * settled (capacity bench). A source that never answers is still caught by ffmpeg's own socket timeout.
 */
export function watchdogLimitMs(watchdogMs: number, hadFirstFrame: boolean): number {
  return hadFirstFrame ? watchdogMs : Math.max(FIRST_FRAME_WATCHDOG_FACTOR * watchdogMs, 30_000);
}
