import type { LiveConfig } from '../../config/console.js';
import { resolveCamera, type Config, type ResolvedCamera } from '../../config/schema.js';
import type { Metrics } from '../../core/metrics.js';
import { toStreetwatchError } from '../../core/errors.js';
import { once, type Service } from '../../core/lifecycle.js';
import type { Logger } from '../../core/log.js';
import { liveInput } from './input.js';
import { CloseCodes, LiveStream, SOCKET_OPEN, closeSocket, type LiveSocket, type LiveStreamStats } from './stream.js';

export interface LiveHubOptions {
  config: LiveConfig;
  log: Logger;
  /** A camera as configured now (undefined: no such enabled camera); looked up on every viewer and status, so a reloaded config applies to the next stream start. */
  camera: (id: string) => { camera: ResolvedCamera; baseDir: string } | undefined;
  ffmpegPath?: string;
  /** Each step of ffmpeg's stop sequence ('q' → SIGTERM → SIGKILL). Default 2000 ms. */
  stopStepMs?: number;
  /** Drop point `live_slow_viewer`: see LiveStream. Default 4 MiB. */
  maxBufferedBytes?: number;
  /** Default 30 s. */
  slowViewerCloseMs?: number;
  random?: () => number;
  /** Every chunk dropped for a slow viewer (e.g. to count it in a Prometheus counter). */
  onDrop?: (cameraId: string, bytes: number) => void;
}

/**
 * All live streams of the process: at most one ffmpeg per camera, shared by its viewers, and at most
 * `config.maxStreams` ffmpeg processes at once. A stream holds its slot from its first viewer until its ffmpeg
 * is reaped after the last viewer left (plus `lingerSec`); a viewer of one more camera is refused (1013) rather
 * than queued, since the operator can choose which view to close.
 */
export class LiveHub implements Service {
  private readonly streams = new Map<string, LiveStream>();
  private readonly log: Logger;
  private started = false;
  private closed = false;

  constructor(private readonly opts: LiveHubOptions) {
    this.log = opts.log.child({ component: 'live' });
  }

  /** Nothing to spawn: streams start with their first viewer. */
  async start(): Promise<void> {
    this.started = true;
  }

  /** Idempotent: closes every viewer (1001) and stops every ffmpeg, resolving once all are reaped. */
  readonly stop = once(async (): Promise<void> => {
    this.closed = true;
    const streams = [...this.streams.values()];
    await Promise.all(streams.map((s) => s.stop()));
    this.streams.clear();
  });

  status(cameraId: string): { available: boolean; viewers: number; running: boolean } {
    const entry = this.opts.camera(cameraId);
    let available = false;
    if (entry) {
      try {
        liveInput(entry.camera, entry.baseDir);
        available = true;
      } catch {
        /* e.g. an asset that is not installed: not viewable */
      }
    }
    const s = this.streams.get(cameraId);
    return { available, viewers: s?.viewerCount ?? 0, running: s?.holdsSlot ?? false };
  }

  /** Per running stream: viewers, ffmpeg pid, restarts, drops (for /metrics or diagnostics). */
  stats(): Record<string, LiveStreamStats> {
    return Object.fromEntries([...this.streams].map(([id, s]) => [id, s.stats()]));
  }

  /** Makes `socket` a viewer of `cameraId`, or closes it with a code and a reason saying why not. */
  attach(cameraId: string, socket: LiveSocket): void {
    if (socket.readyState !== SOCKET_OPEN) return; // gone before we got to it
    if (!this.started || this.closed) {
      closeSocket(socket, this.closed ? CloseCodes.GOING_AWAY : CloseCodes.TRY_AGAIN_LATER, 'live view is not running');
      return;
    }
    const entry = this.opts.camera(cameraId);
    if (!entry) {
      closeSocket(socket, CloseCodes.UNKNOWN_CAMERA, `unknown camera '${cameraId.slice(0, 64)}'`);
      return;
    }
    let stream = this.streams.get(cameraId);
    if (!stream?.holdsSlot) {
      const max = this.opts.config.maxStreams;
      const running = [...this.streams.values()].filter((s) => s.holdsSlot).length;
      if (running >= max) {
        this.log.info({ camera: cameraId, maxStreams: max }, 'live viewer refused: stream limit reached');
        closeSocket(socket, CloseCodes.TRY_AGAIN_LATER, `live view limit reached: ${max} cameras at once (console.live.maxStreams); close another view or try again later`);
        return;
      }
      let input;
      try {
        input = liveInput(entry.camera, entry.baseDir);
      } catch (e) {
        const err = toStreetwatchError(e);
        this.log.warn({ camera: cameraId, code: err.code }, `live viewer refused: ${err.message}`);
        closeSocket(socket, CloseCodes.FAILED, `${err.code}: camera '${cameraId}' cannot be viewed; see the server log`);
        return;
      }
      // An idle stream is rebuilt from the current config, so an edited camera is viewed as edited.
      const fresh = new LiveStream({
        camera: entry.camera,
        input,
        config: this.opts.config,
        log: this.opts.log,
        ...(this.opts.ffmpegPath !== undefined ? { ffmpegPath: this.opts.ffmpegPath } : {}),
        ...(this.opts.stopStepMs !== undefined ? { stopStepMs: this.opts.stopStepMs } : {}),
        ...(this.opts.maxBufferedBytes !== undefined ? { maxBufferedBytes: this.opts.maxBufferedBytes } : {}),
        ...(this.opts.slowViewerCloseMs !== undefined ? { slowViewerCloseMs: this.opts.slowViewerCloseMs } : {}),
        ...(this.opts.random !== undefined ? { random: this.opts.random } : {}),
        onIdle: () => {
          if (this.streams.get(cameraId) === fresh) this.streams.delete(cameraId);
        },
        onDrop: (bytes) => this.opts.onDrop?.(cameraId, bytes),
      });
      this.streams.set(cameraId, fresh);
      stream = fresh;
    }
    stream.addViewer(socket);
  }
}

/**
 * The live hub of a process from its config: what `run` and `console` both start. Cameras are looked up in the
 * current config, so a reloaded camera applies to the next stream started; `console.live` is read once (its
 * changes take a restart).
 */
export function liveHubFor(config: () => Config, baseDir: string, log: Logger, metrics?: Metrics): LiveHub {
  return new LiveHub({
    config: config().console.live,
    log,
    camera: (id) => {
      const c = config().cameras.find((x) => x.id === id && x.enabled);
      return c && { camera: resolveCamera(config(), c), baseDir };
    },
    ...(metrics && { onDrop: (cameraId: string, bytes: number) => metrics.liveDropped.inc({ camera: cameraId }, bytes) }),
  });
}
