import { setPriority } from 'node:os';
import { Writable } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import ffmpeg from 'fluent-ffmpeg';
import { redact } from '../../core/redact.js';
import {
  type DecoderArgsSpec,
  frameBytes,
  inputOptions,
  inputTarget,
  ringOutputOptions,
  ringOutputTarget,
  stdoutOutputOptions,
} from './args.js';
import { FlvH264Reader, type FlvVideoFrame } from './flv.js';
import { FrameAssembler, type FrameInfo, parseShowinfoLine } from './frame-assembler.js';
import { inSpawnTurn } from './spawn-turn.js';
import { stopChild } from './stop.js';

/** How a decoder run ended. `stderrTail` is redacted; classify it with `classifyFfmpegFailure`. */
export interface DecoderExit {
  code: number | null;
  signal: string | null;
  /** True when our stop() ended it (q / SIGTERM / SIGKILL), false when ffmpeg ended by itself. */
  stoppedByUs: boolean;
  /** The last stderr lines that are not per-frame lines. */
  stderrTail: string[];
  /** Frames delivered: decoded frames, or for a receiver (`decode: 'shared'`) keyframes received. */
  frames: number;
  /** A spawn failure (ffmpeg missing), if any. */
  spawnError?: Error;
  /** A receiver's stdout that could not be read as FLV/H.264. */
  streamError?: Error;
}

export interface DecoderOptions {
  spec: DecoderArgsSpec;
  /** Decoded frames (`decode: 'camera'`). */
  onFrame?: (data: Buffer, info: FrameInfo) => void;
  /**
   * Keyframes received (`decode: 'shared'`). A returned promise holds back reading ffmpeg's stdout until it
   * settles: a file read as fast as possible then waits for the shared decoder instead of outrunning it.
   */
  onKeyframe?: (frame: FlvVideoFrame) => void | Promise<void>;
  /** Every non-frame stderr line (redacted), for stream info and error classification. */
  onLine?: (line: string) => void;
  ffmpegPath?: string;
  /** How long each stop step (q, then SIGTERM) may take before the next one. */
  stopStepMs?: number;
  /** Niceness to run ffmpeg at (0 or absent: the parent's). */
  nice?: number;
}

const TAIL_LINES = 30;
/** How long a receiver's run waits after ffmpeg exits for its last keyframes to come back from the decoders. */
const SINK_DRAIN_LIMIT_MS = 60_000;

/**
 * One ffmpeg process for one camera, run through fluent-ffmpeg. Decoding itself (`decode: 'camera'`), frames
 * are parsed from stdout by exact byte count and paired with their PTS from stderr; as a receiver (`decode:
 * 'shared'`), stdout carries the camera's keyframes as FLV for the shared decoders. `stop()` asks ffmpeg to quit with `q` (so the ring's last
 * segment is closed properly), then SIGTERM, then SIGKILL, and resolves only when the process has exited and
 * been reaped — no zombies, no orphans.
 */
export class FfmpegDecoder {
  readonly exited: Promise<DecoderExit>;
  private resolveExit!: (e: DecoderExit) => void;
  private proc: ChildProcess | undefined;
  private stoppedByUs = false;
  private frames = 0;
  private readonly tail: string[] = [];
  private stopping: Promise<DecoderExit> | undefined;
  private started = false;
  private settled = false;
  private streamError: Error | undefined;

  constructor(private readonly opts: DecoderOptions) {
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  start(): void {
    if (this.started) throw new Error('decoder already started');
    this.started = true;
    const { spec } = this.opts;
    const shared = spec.decode === 'shared';
    const assembler = new FrameAssembler(frameBytes(spec.frame), (data, info) => {
      this.frames++;
      this.opts.onFrame?.(data, info);
    });
    const waits: Promise<void>[] = [];
    const reader = new FlvH264Reader((f) => {
      this.frames++;
      const w = this.opts.onKeyframe?.(f);
      if (w) waits.push(w);
    });
    const sink = new Writable({
      highWaterMark: 1 << 20,
      write: (chunk: Buffer, _enc, cb) => {
        if (!shared) {
          assembler.pushBytes(chunk);
          cb();
          return;
        }
        try {
          reader.push(chunk);
        } catch (e) {
          // Not FLV/H.264 after all: nothing more can be read from this run.
          this.streamError ??= e as Error;
          void this.stop();
          cb();
          return;
        }
        if (!waits.length) return cb();
        void Promise.all(waits.splice(0)).then(() => cb());
      },
    });

    // A receiver's last keyframes may still be with the shared decoders when ffmpeg exits (a short file is read
    // whole into the pipe buffers at once): the run ends only when every keyframe written has been handled.
    const sinkDone = new Promise<void>((r) => {
      sink.once('finish', r);
      sink.once('close', r);
      sink.once('error', () => r());
    });
    const cmd = ffmpeg({ stdoutLines: TAIL_LINES });
    if (this.opts.ffmpegPath) cmd.setFfmpegPath(this.opts.ffmpegPath);
    cmd.input(inputTarget(spec)).inputOptions(inputOptions(spec));
    const ringTarget = ringOutputTarget(spec);
    if (ringTarget) cmd.output(ringTarget).outputOptions(ringOutputOptions(spec));
    cmd.output(sink, { end: true }).outputOptions(stdoutOutputOptions(spec));

    cmd.on('start', () => {
      this.proc = (cmd as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      if (this.opts.nice && this.proc?.pid !== undefined) {
        try {
          setPriority(this.proc.pid, this.opts.nice);
        } catch {
          /* it already exited: handled on 'close' */
        }
      }
      // fluent-ffmpeg only attaches its own exit handling; we wait on the real process for the reap.
      this.proc?.once('close', (code, signal) => {
        if (!shared) return this.settle({ code, signal });
        const limit = new Promise<void>((r) => setTimeout(r, SINK_DRAIN_LIMIT_MS).unref());
        void Promise.race([sinkDone, limit]).then(() => this.settle({ code, signal }));
      });
      this.proc?.stdin?.on('error', () => {
        /* ffmpeg already gone; the exit is handled on 'close' */
      });
    });
    cmd.on('stderr', (line: string) => {
      const info = parseShowinfoLine(line);
      if (info) {
        assembler.pushInfo(info);
        return;
      }
      if (line.includes('[Parsed_showinfo_')) return; // showinfo's per-frame side lines (colour info)
      const clean = redact(line);
      this.tail.push(clean);
      if (this.tail.length > TAIL_LINES) this.tail.shift();
      this.opts.onLine?.(clean);
    });
    // fluent-ffmpeg reports non-zero exits and spawn failures here; the process 'close' carries the status.
    cmd.on('error', (err: Error) => {
      if (!this.proc) this.settle({ code: null, signal: null, spawnError: err });
    });
    cmd.on('end', () => {
      /* normal end; settled on 'close' */
    });
    inSpawnTurn(() => {
      // stopped while waiting for its turn: nothing to spawn
      if (this.stoppedByUs) return this.settle({ code: null, signal: null });
      try {
        cmd.run();
      } catch (e) {
        this.settle({ code: null, signal: null, spawnError: e as Error });
      }
    });
  }

  private settle(r: { code: number | null; signal: NodeJS.Signals | string | null; spawnError?: Error }): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveExit({
      code: r.code,
      signal: r.signal,
      stoppedByUs: this.stoppedByUs,
      stderrTail: [...this.tail],
      frames: this.frames,
      ...(r.spawnError ? { spawnError: r.spawnError } : {}),
      ...(this.streamError ? { streamError: this.streamError } : {}),
    });
  }

  /** Idempotent. Resolves when the process has exited and been reaped. */
  stop(): Promise<DecoderExit> {
    return (this.stopping ??= this.doStop());
  }

  private async doStop(): Promise<DecoderExit> {
    this.stoppedByUs = true;
    if (!this.started || this.settled) return this.exited;
    // Until fluent-ffmpeg reports 'start' the child may not exist yet; give it a moment.
    for (let i = 0; i < 50 && !this.proc && !this.settled; i++) await new Promise((r) => setTimeout(r, 20));
    const proc = this.proc;
    if (!proc) return this.exited;
    await stopChild(proc, this.exited, this.opts.stopStepMs ?? 2000);
    return this.exited;
  }
}
