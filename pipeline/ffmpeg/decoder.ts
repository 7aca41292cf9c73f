import { Writable } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import ffmpeg from 'fluent-ffmpeg';
import { redact } from '../../core/redact.js';
import {
  type DecoderArgsSpec,
  frameBytes,
  frameOutputOptions,
  inputOptions,
  inputTarget,
  ringOutputOptions,
  ringOutputTarget,
} from './args.js';
import { FrameAssembler, type FrameInfo, parseShowinfoLine } from './frame-assembler.js';
import { stopChild } from './stop.js';

/** How a decoder run ended. `stderrTail` is redacted; classify it with `classifyFfmpegFailure`. */
export interface DecoderExit {
  code: number | null;
  signal: string | null;
  /** True when our stop() ended it (q / SIGTERM / SIGKILL), false when ffmpeg ended by itself. */
  stoppedByUs: boolean;
  /** The last stderr lines that are not per-frame lines. */
  stderrTail: string[];
  frames: number;
  /** A spawn failure (ffmpeg missing), if any. */
  spawnError?: Error;
}

export interface DecoderOptions {
  spec: DecoderArgsSpec;
  onFrame: (data: Buffer, info: FrameInfo) => void;
  /** Every non-frame stderr line (redacted), for stream info and error classification. */
  onLine?: (line: string) => void;
  ffmpegPath?: string;
  /** How long each stop step (q, then SIGTERM) may take before the next one. */
  stopStepMs?: number;
}

const TAIL_LINES = 30;

/**
 * One ffmpeg process for one camera, run through fluent-ffmpeg. Frames are parsed from stdout by exact byte
 * count and paired with their PTS from stderr. `stop()` asks ffmpeg to quit with `q` (so the ring's last
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
    const assembler = new FrameAssembler(frameBytes(spec.frame), (data, info) => {
      this.frames++;
      this.opts.onFrame(data, info);
    });
    const sink = new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _enc, cb) {
        assembler.pushBytes(chunk);
        cb();
      },
    });

    const cmd = ffmpeg({ stdoutLines: TAIL_LINES });
    if (this.opts.ffmpegPath) cmd.setFfmpegPath(this.opts.ffmpegPath);
    cmd.input(inputTarget(spec)).inputOptions(inputOptions(spec));
    const ringTarget = ringOutputTarget(spec);
    if (ringTarget) cmd.output(ringTarget).outputOptions(ringOutputOptions(spec));
    cmd.output(sink, { end: true }).outputOptions(frameOutputOptions(spec));

    cmd.on('start', () => {
      this.proc = (cmd as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      // fluent-ffmpeg only attaches its own exit handling; we wait on the real process for the reap.
      this.proc?.once('close', (code, signal) => this.settle({ code, signal }));
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
    cmd.run();
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
