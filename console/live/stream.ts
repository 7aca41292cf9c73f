import { spawn, type ChildProcess } from 'node:child_process';
import type { LiveConfig } from '../../config/console.js';
import type { ResolvedCamera } from '../../config/schema.js';
import { StreetwatchError } from '../../core/errors.js';
import { once } from '../../core/lifecycle.js';
import type { Logger } from '../../core/log.js';
import { redact } from '../../core/redact.js';
import { backoffDelay, sleep, type BackoffPolicy } from '../../core/retry.js';
import { classifyFfmpegFailure } from '../../pipeline/ffmpeg/failure.js';
import { stopChild } from '../../pipeline/ffmpeg/stop.js';
import type { LiveInput } from './input.js';

/**
 * One camera's live stream: one ffmpeg (camera → MPEG-1 video in MPEG-TS on stdout) shared by every viewer of
 * that camera, on node-rtsp-stream's wire format for JSMpeg. ffmpeg runs only while someone watches: it starts
 * with the first viewer, is restarted with backoff when it ends while viewers are still there, and stops
 * `lingerSec` after the last viewer left.
 */

/**
 * The part of a `ws` WebSocket the live view uses. Structural, so a `ws` socket of any version fits (the
 * project has no @types/ws) and the unit tests can pass a fake.
 */
export interface LiveSocket {
  readonly readyState: number;
  /** Bytes queued by `send` and not yet handed to the kernel: how far this viewer is behind. */
  readonly bufferedAmount: number;
  send(data: Buffer, options: { binary: boolean }): void;
  close(code?: number, reason?: string): void;
  on(event: 'close' | 'error', listener: (...args: any[]) => void): unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** ws's readyState for an open socket. */
export const SOCKET_OPEN = 1;

/** Close codes the live view uses (README.md lists them for the web app). */
export const CloseCodes = {
  /** The server is stopping. */
  GOING_AWAY: 1001,
  /** Refused by policy: not authorized, or a viewer too slow for too long. */
  POLICY: 1008,
  /** The camera's stream failed for good (missing file, unsupported codec, no ffmpeg). */
  FAILED: 1011,
  /** Too many streams at once (console.live.maxStreams), or the live view is not running: try again later. */
  TRY_AGAIN_LATER: 1013,
  /** No camera with that id. */
  UNKNOWN_CAMERA: 4404,
} as const;

/** Closes a socket with a reason that fits a close frame (at most 123 bytes of UTF-8). Never throws. */
export function closeSocket(socket: LiveSocket, code: number, reason: string): void {
  let r = reason;
  while (Buffer.byteLength(r) > 123) r = `${r.slice(0, Math.max(0, r.length - 2 - (Buffer.byteLength(r) - 123)))}…`;
  try {
    socket.close(code, r);
  } catch {
    /* already closed or never opened: nothing to tell it */
  }
}

/** node-rtsp-stream's 8-byte stream header: ASCII `jsmp`, then width and height as uint16 big-endian. */
export function streamHeader(width: number, height: number): Buffer {
  const b = Buffer.alloc(8);
  b.write('jsmp', 0, 'ascii');
  b.writeUInt16BE(width, 4);
  b.writeUInt16BE(height, 6);
  return b;
}

/**
 * Integer frame rates MPEG-1 video can signal. 5, 10, 12 and 15 are in ffmpeg's table as "unofficial" (Xing)
 * rates and need `-strict unofficial`; any other rate (even the 15 fps default) makes the encoder refuse to
 * start ("MPEG-1/2 does not support 15/1 fps").
 */
const MPEG1_STANDARD_FPS = [24, 25, 30];
const MPEG1_UNOFFICIAL_FPS = [5, 10, 12, 15];

/** The configured rate, or the next lower one MPEG-1 can carry (never more frames than configured), at least 5. */
export function mpeg1Fps(fps: number): number {
  const rates = [...MPEG1_UNOFFICIAL_FPS, ...MPEG1_STANDARD_FPS];
  return rates.filter((r) => r <= fps).at(-1) ?? rates[0]!;
}

/** ffmpeg's output side of a live stream: scaled-down MPEG-1 in MPEG-TS on stdout. */
export function liveOutputArgs(cfg: Pick<LiveConfig, 'width' | 'fps' | 'bitrateKbps'>): string[] {
  const fps = mpeg1Fps(cfg.fps);
  return [
    '-map', '0:v:0',
    // -2: height from the source's aspect ratio, rounded to even (4:2:0 chroma needs it).
    '-vf', `scale=${cfg.width}:-2`,
    '-r', String(fps),
    '-b:v', `${cfg.bitrateKbps}k`,
    // JSMpeg decodes no B-frames.
    '-bf', '0',
    '-codec:v', 'mpeg1video',
    ...(MPEG1_UNOFFICIAL_FPS.includes(fps) ? ['-strict', 'unofficial'] : []),
    '-an',
    '-f', 'mpegts', '-',
  ];
}

/**
 * Reads the encoded picture size from ffmpeg's stream listing (`Output #0, …` then `Stream #0:0: Video:
 * mpeg1video, yuv420p(…), 640x360 […]`): the size ffmpeg actually encodes, so the header can never disagree
 * with the picture, and no second connection to the camera (an ffprobe) is needed before the first viewer sees
 * anything. Input streams are listed first with the same `#0:0` numbering, hence the state.
 */
export function outputSizeParser(): (line: string) => { width: number; height: number } | undefined {
  let inOutput = false;
  return (line) => {
    if (/^Output #\d+/.test(line)) inOutput = true;
    if (!inOutput) return undefined;
    const m = /^\s*Stream #\d+:\d+.*?: Video: .*?, (\d{2,5})x(\d{2,5})\b/.exec(line);
    return m ? { width: Number(m[1]), height: Number(m[2]) } : undefined;
  };
}

export interface LiveStreamOptions {
  camera: ResolvedCamera;
  input: LiveInput;
  config: LiveConfig;
  log: Logger;
  ffmpegPath?: string;
  /** Each step of the stop sequence ('q', then SIGTERM, then SIGKILL) may take this long. Default 2000 ms. */
  stopStepMs?: number;
  /** A viewer with more than this queued gets no more chunks until it drains. Default 4 MiB. */
  maxBufferedBytes?: number;
  /** A viewer that keeps dropping this long is closed. Default 30 s. */
  slowViewerCloseMs?: number;
  random?: () => number;
  /** Called when ffmpeg is gone for good (reaped) and nobody wants the stream: the slot is free. */
  onIdle?: () => void;
  /** Called for every chunk not sent to a slow viewer. */
  onDrop?: (bytes: number) => void;
}

export interface LiveStreamStats {
  viewers: number;
  running: boolean;
  pid?: number;
  /** ffmpeg starts after an exit (not counting the first start of each viewing). */
  restarts: number;
  /** Chunks (and their bytes) not sent to a slow viewer: drop point `live_slow_viewer`. */
  droppedChunks: number;
  droppedBytes: number;
  size?: { width: number; height: number };
}

interface Viewer {
  socket: LiveSocket;
  headerSent: boolean;
  droppingSince?: number;
  dropped: number;
}

interface RunExit {
  code: number | null;
  signal: string | null;
  stoppedByUs: boolean;
  stalled: boolean;
  bytes: number;
  stderrTail: string[];
  spawnError?: Error;
}

const TAIL_LINES = 30;
const FIRST_OUTPUT_GRACE_MS = 20_000;
/** Output held back while the picture size is not known yet (stdout and stderr are separate pipes, so the first chunk can come before the size line). */
const EARLY_BYTES_MAX = 1 << 20;

/**
 * Drop point `live_slow_viewer`: a viewer whose socket has more than `maxBufferedBytes` queued gets no more
 * chunks until it drains, so a slow link never grows the server's memory. Dropped TS chunks show as a smeared
 * picture until the next I-frame (≤ 1 s: mpeg1video's default GOP is 12 frames); the demuxer resyncs on its
 * own. A viewer that is still behind after `slowViewerCloseMs` (a dead link TCP has not noticed yet) is closed
 * (1008) so it stops holding the stream open.
 */
export class LiveStream {
  private readonly viewers = new Map<LiveSocket, Viewer>();
  private readonly log: Logger;
  private loop: Promise<void> | undefined;
  private proc: ChildProcess | undefined;
  private stopCurrent: (() => Promise<void>) | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private backoff: AbortController | undefined;
  private closed = false;
  private size: { width: number; height: number } | undefined;
  private early: Buffer[] = [];
  private earlyBytes = 0;
  private restarts = 0;
  private droppedChunks = 0;
  private droppedBytes = 0;

  constructor(private readonly opts: LiveStreamOptions) {
    this.log = opts.log.child({ camera: opts.camera.id, live: true });
  }

  get cameraId(): string {
    return this.opts.camera.id;
  }

  get input(): LiveInput {
    return this.opts.input;
  }

  /** True from the first viewer until ffmpeg is reaped after the last one: the stream holds a `maxStreams` slot. */
  get holdsSlot(): boolean {
    return this.loop !== undefined;
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  stats(): LiveStreamStats {
    return {
      viewers: this.viewers.size,
      running: this.holdsSlot,
      ...(this.proc?.pid !== undefined && this.proc.exitCode === null && this.proc.signalCode === null ? { pid: this.proc.pid } : {}),
      restarts: this.restarts,
      droppedChunks: this.droppedChunks,
      droppedBytes: this.droppedBytes,
      ...(this.size ? { size: { ...this.size } } : {}),
    };
  }

  addViewer(socket: LiveSocket): void {
    if (this.closed) {
      closeSocket(socket, CloseCodes.GOING_AWAY, 'live view is stopping');
      return;
    }
    if (socket.readyState !== SOCKET_OPEN || this.viewers.has(socket)) return;
    const viewer: Viewer = { socket, headerSent: false, dropped: 0 };
    this.viewers.set(socket, viewer);
    const gone = () => this.removeViewer(socket);
    socket.on('close', gone);
    socket.on('error', gone);
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
    if (this.size) this.sendHeader(viewer);
    this.log.debug({ viewers: this.viewers.size }, 'live viewer joined');
    this.ensureRunning();
  }

  /** Idempotent: closes every viewer (1001), stops ffmpeg ('q' → SIGTERM → SIGKILL) and waits until it is reaped. */
  readonly stop = once(async () => {
    this.closed = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.backoff?.abort();
    const sockets = [...this.viewers.keys()];
    this.viewers.clear();
    for (const s of sockets) closeSocket(s, CloseCodes.GOING_AWAY, 'live view is stopping');
    await this.stopCurrent?.();
    await this.loop;
  });

  private removeViewer(socket: LiveSocket): void {
    if (!this.viewers.delete(socket)) return;
    this.log.debug({ viewers: this.viewers.size }, 'live viewer left');
    this.afterLeave();
  }

  private afterLeave(): void {
    if (this.viewers.size > 0 || this.closed || !this.loop) return;
    const lingerMs = this.opts.config.lingerSec * 1000;
    if (lingerMs <= 0) {
      this.release();
      return;
    }
    // A reload or a quick switch back finds the stream still running instead of waiting for a new connect.
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      if (this.viewers.size === 0) this.release();
    }, lingerMs);
  }

  /** Nobody wants the stream any more: end ffmpeg (or the wait before its restart); the loop then ends. */
  private release(): void {
    this.log.info({ lingerSec: this.opts.config.lingerSec }, 'last live viewer gone: stopping the stream');
    this.backoff?.abort();
    void this.stopCurrent?.();
  }

  private wanted(): boolean {
    return !this.closed && (this.viewers.size > 0 || this.lingerTimer !== undefined);
  }

  private ensureRunning(): void {
    if (this.loop || this.closed) return;
    this.loop = this.supervise()
      .catch((e: unknown) => this.log.error({ err: e }, 'live stream supervisor failed'))
      .finally(() => {
        this.loop = undefined;
        // A viewer who arrived while ffmpeg was being stopped: start again rather than strand them.
        if (this.wanted()) this.ensureRunning();
        else this.opts.onIdle?.();
      });
  }

  private async supervise(): Promise<void> {
    const r = this.opts.camera.reconnect;
    const policy: BackoffPolicy = { initialMs: r.initialSec * 1000, maxMs: r.maxSec * 1000, factor: r.factor, jitter: r.jitter };
    let attempt = 0;
    while (this.wanted()) {
      const exit = await this.runOnce();
      if (!this.wanted()) return;
      if (exit.stoppedByUs && !exit.stalled) continue; // stopped for the linger, and a viewer came back meanwhile
      if (exit.bytes > 0) attempt = 0;
      const err = this.classify(exit);
      if (!err.retriable) {
        this.fail(err);
        return;
      }
      const delayMs = backoffDelay(attempt++, policy, this.opts.random);
      this.restarts++;
      this.log.warn({ code: err.code, retryInMs: delayMs, attempt, viewers: this.viewers.size }, `live stream down, restarting: ${err.message}`);
      const ac = new AbortController();
      this.backoff = ac;
      try {
        await sleep(delayMs, ac.signal);
      } catch {
        /* released or stopped: the loop condition decides */
      } finally {
        this.backoff = undefined;
      }
    }
  }

  private classify(exit: RunExit): StreetwatchError {
    const cam = this.opts.camera.id;
    const { label, kind } = this.opts.input;
    if (exit.spawnError) {
      return new StreetwatchError('FFMPEG_MISSING', `camera '${cam}': live view cannot start ffmpeg (${exit.spawnError.message}). Install it: apt-get install -y ffmpeg.`, {
        cause: exit.spawnError,
        details: { camera: cam },
      });
    }
    if (exit.stalled) {
      return new StreetwatchError('SOURCE_STALLED', `camera '${cam}' (${label}): live view got no video for ${this.opts.camera.watchdogSec} s; restarted ffmpeg.`, {
        retriable: true,
        details: { camera: cam },
      });
    }
    const err = classifyFfmpegFailure({ cameraId: cam, sourceKind: kind, input: label, code: exit.code, signal: exit.signal, stderrTail: exit.stderrTail });
    // A looped file is never meant to end: one that played and then stopped is a drop like a camera's.
    if (!err.retriable && kind === 'file' && exit.bytes > 0) return new StreetwatchError(err.code, err.message, { retriable: true, cause: err, details: err.details });
    return err;
  }

  /** The stream cannot work (missing file, unsupported codec, no ffmpeg): tell the viewers and give the slot back. */
  private fail(err: StreetwatchError): void {
    this.log.error({ code: err.code, viewers: this.viewers.size }, `live stream failed: ${err.message}`);
    const sockets = [...this.viewers.keys()];
    this.viewers.clear(); // before closing, so their close events do not start a linger
    for (const s of sockets) closeSocket(s, CloseCodes.FAILED, `${err.code}: camera '${this.opts.camera.id}' live view failed; see the server log`);
  }

  /** One ffmpeg run, from spawn to reap. */
  private runOnce(): Promise<RunExit> {
    const args = [...this.opts.input.args, ...liveOutputArgs(this.opts.config)];
    const stepMs = this.opts.stopStepMs ?? 2000;
    const watchdogMs = this.opts.camera.watchdogSec * 1000;
    const tail: string[] = [];
    const parseSize = outputSizeParser();
    let bytes = 0;
    let stoppedByUs = false;
    let stalled = false;
    let lastOutputAt = Date.now();
    let stderrRest = '';
    this.early = [];
    this.earlyBytes = 0;

    this.log.info({ input: this.opts.input.label, width: this.opts.config.width, fps: mpeg1Fps(this.opts.config.fps), viewers: this.viewers.size }, 'live stream: starting ffmpeg');
    const child = spawn(this.opts.ffmpegPath ?? 'ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = child;

    const exited = new Promise<RunExit>((resolve) => {
      let settled = false;
      const settle = (code: number | null, signal: string | null, spawnError?: Error) => {
        if (settled) return;
        settled = true;
        if (stderrRest) tail.push(redact(stderrRest));
        resolve({ code, signal, stoppedByUs, stalled, bytes, stderrTail: tail.slice(-TAIL_LINES), ...(spawnError ? { spawnError } : {}) });
      };
      child.once('close', (code, signal) => settle(code, signal));
      // A failed spawn (no ffmpeg) may never emit 'close'.
      child.once('error', (e) => {
        if (child.pid === undefined) settle(null, null, e);
      });
    });

    child.stdin!.on('error', () => {
      /* ffmpeg already gone; its exit is handled on 'close' */
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      lastOutputAt = Date.now();
      this.onChunk(chunk);
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      const lines = (stderrRest + s).split(/\r?\n|\r/);
      stderrRest = lines.pop() ?? '';
      for (const raw of lines) {
        const line = redact(raw);
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        const size = parseSize(line);
        if (size) this.onSize(size);
      }
      if (stderrRest.length > 4096) stderrRest = stderrRest.slice(-4096);
    });

    const stop = (): Promise<void> => {
      stoppedByUs = true;
      return stopChild(child, exited, stepMs);
    };
    this.stopCurrent = stop;
    // ffmpeg's own socket timeout covers a dead camera; this covers anything else that leaves it silent. The
    // first output needs the stream probed and a keyframe, which on a long-GOP camera takes longer.
    const firstOutputMs = Math.max(watchdogMs, FIRST_OUTPUT_GRACE_MS);
    const watchdog = setInterval(() => {
      if (!stalled && !stoppedByUs && Date.now() - lastOutputAt > (bytes === 0 ? firstOutputMs : watchdogMs)) {
        stalled = true;
        this.log.warn({ watchdogSec: this.opts.camera.watchdogSec }, 'live stream: no output within the watchdog time, restarting ffmpeg');
        void stopChild(child, exited, stepMs);
      }
    }, Math.min(1000, watchdogMs / 4));

    return exited.then((exit) => {
      clearInterval(watchdog);
      if (this.stopCurrent === stop) this.stopCurrent = undefined;
      if (this.proc === child) this.proc = undefined;
      this.early = [];
      this.earlyBytes = 0;
      return { ...exit, stoppedByUs, stalled };
    });
  }

  private onSize(size: { width: number; height: number }): void {
    if (!this.size || this.size.width !== size.width || this.size.height !== size.height) {
      this.log.info({ width: size.width, height: size.height }, 'live stream: picture size');
    }
    this.size = size;
    for (const v of this.viewers.values()) if (!v.headerSent) this.sendHeader(v);
    const early = this.early;
    this.early = [];
    this.earlyBytes = 0;
    for (const c of early) this.broadcast(c);
  }

  private onChunk(chunk: Buffer): void {
    if (this.size) {
      this.broadcast(chunk);
      return;
    }
    this.early.push(chunk);
    this.earlyBytes += chunk.length;
    while (this.earlyBytes > EARLY_BYTES_MAX && this.early.length > 1) this.earlyBytes -= this.early.shift()!.length;
  }

  private sendHeader(v: Viewer): void {
    if (!this.size || v.socket.readyState !== SOCKET_OPEN) return;
    v.socket.send(streamHeader(this.size.width, this.size.height), { binary: true });
    v.headerSent = true;
  }

  private broadcast(chunk: Buffer): void {
    const maxBuffered = this.opts.maxBufferedBytes ?? 4 << 20;
    const closeAfterMs = this.opts.slowViewerCloseMs ?? 30_000;
    for (const v of [...this.viewers.values()]) {
      const s = v.socket;
      if (!v.headerSent || s.readyState !== SOCKET_OPEN) continue;
      if (s.bufferedAmount > maxBuffered) {
        const now = Date.now();
        v.dropped++;
        this.droppedChunks++;
        this.droppedBytes += chunk.length;
        this.opts.onDrop?.(chunk.length);
        if (v.droppingSince === undefined) {
          v.droppingSince = now;
          this.log.warn({ drop: 'live_slow_viewer', bufferedBytes: s.bufferedAmount, maxBufferedBytes: maxBuffered }, 'live viewer too slow: dropping video for it until it catches up');
        } else if (now - v.droppingSince > closeAfterMs) {
          this.log.warn({ drop: 'live_slow_viewer', dropped: v.dropped }, 'live viewer still too slow: closing it');
          this.viewers.delete(s);
          closeSocket(s, CloseCodes.POLICY, `viewer too slow: more than ${maxBuffered} bytes queued for ${Math.round(closeAfterMs / 1000)} s`);
          this.afterLeave();
        }
        continue;
      }
      if (v.droppingSince !== undefined) {
        this.log.info({ drop: 'live_slow_viewer', dropped: v.dropped }, 'live viewer caught up');
        v.droppingSince = undefined;
      }
      s.send(chunk, { binary: true });
    }
  }
}
