import { PassThrough, Writable } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import ffmpeg from 'fluent-ffmpeg';
import type { FrameSizeConfig } from '../../config/schema.js';
import { redact } from '../../core/redact.js';
import { frameBytes, sharedDecoderInputOptions, sharedDecoderOutputOptions } from './args.js';
import { flvHeader, flvKeyframeTag, flvKeyframeTagParts } from './flv.js';
import { FrameAssembler, parseShowinfoLine } from './frame-assembler.js';
import { inSpawnTurn } from './spawn-turn.js';
import { stopChild } from './stop.js';

/** Why a keyframe sent to a shared decoder came back without a picture. */
export type DecodeFailure = 'undecodable' | 'decoder_exit';

export type DecodeOutcome = { ok: true; data: Buffer } | { ok: false; reason: DecodeFailure };

interface Job {
  ts: number;
  sentAt: number;
  /** Absent for a filler. */
  done?: (o: DecodeOutcome) => void;
}

/**
 * A frame leaves the decoder as soon as it is decoded (see ENCODER_THREADS in args.ts), so a keyframe is
 * answered without anything behind it — except a broken one: it yields no picture, and only the next picture
 * that comes out tells us so (every job before it is answered `undecodable`). When keyframes wait and nothing
 * has come out for FILLER_MS, a filler goes in: a 16×16 black H.264 IDR (52 bytes; libx264, SEI removed)
 * whose own picture is thrown away. It costs ≈ 2.4 ms of decoder CPU (the scale filter is rebuilt for its size
 * and back), which is why it waits far longer than a 1080p keyframe takes to decode (≈ 17 ms): a busy decoder
 * answers something every few ms and never gets one.
 */
const FILLER = Buffer.from('AAAAAWdCwArZHsBEAAADAAQAAAMACDxImSAAAAABaMuDyyAAAAFliIQFf///D0UAAULfgA==', 'base64');
export const FILLER_MS = 250;

const TAIL_LINES = 20;
/** Timestamps are FLV's 32 bits of ms (16 months at 100 keyframes/s): a decoder that used them up is replaced. */
const MAX_TS = 0xffffffff;

/**
 * One ffmpeg that decodes keyframes of many cameras, in order, at one output size. Each keyframe goes in as
 * an FLV tag whose timestamp is its job number; the `showinfo` line of each decoded frame gives that number
 * back, so a frame is matched to its job even when a broken keyframe in between yields no picture (that job
 * is answered `undecodable`). Frames of cameras with different sizes or SPS may follow each other: each
 * keyframe carries its own SPS/PPS and the scale filter follows a size change.
 */
export class SharedDecoder {
  readonly exited: Promise<{ code: number | null; signal: string | null; stderrTail: string[] }>;
  private resolveExit!: (e: { code: number | null; signal: string | null; stderrTail: string[] }) => void;
  private readonly input = new PassThrough({ highWaterMark: 1 << 20 });
  private readonly jobs: Job[] = [];
  private readonly tail: string[] = [];
  private proc: ChildProcess | undefined;
  private nextTs = 1;
  private fillerTimer: NodeJS.Timeout | undefined;
  /** Fillers sent so far (a healthy decoder fed good keyframes sends none). */
  fillersSent = 0;
  /** Keyframes (not fillers) not answered yet. */
  private waiting = 0;
  private started = false;
  private settled = false;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly frame: FrameSizeConfig,
    private readonly opts: { ffmpegPath?: string; stopStepMs?: number; fillerMs?: number } = {},
  ) {
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  /** Keyframes sent and not answered yet. */
  get pending(): number {
    return this.waiting;
  }

  /** How long the oldest keyframe not answered yet has waited (0 when none waits). */
  oldestWaitMs(now = Date.now()): number {
    const first = this.jobs.find((j) => j.done);
    return first ? now - first.sentAt : 0;
  }

  get alive(): boolean {
    return this.started && !this.settled && !this.stopping;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  start(): void {
    if (this.started) throw new Error('shared decoder already started');
    this.started = true;
    const assembler = new FrameAssembler(frameBytes(this.frame), (data, info) => this.answer(Math.round(info.ptsSec * 1000), data));
    const sink = new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _enc, cb) {
        assembler.pushBytes(chunk);
        cb();
      },
    });
    const cmd = ffmpeg({ stdoutLines: TAIL_LINES });
    if (this.opts.ffmpegPath) cmd.setFfmpegPath(this.opts.ffmpegPath);
    // fluent-ffmpeg pipes the input stream into ffmpeg's stdin; the options around `-i pipe:0` are ours.
    cmd.input(this.input).inputOptions(sharedDecoderInputOptions());
    cmd.output(sink, { end: true }).outputOptions(sharedDecoderOutputOptions(this.frame));
    cmd.on('start', () => {
      this.proc = (cmd as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      this.proc?.once('close', (code, signal) => this.settle(code, signal));
    });
    cmd.on('stderr', (line: string) => {
      const info = parseShowinfoLine(line);
      if (info) {
        assembler.pushInfo(info);
        return;
      }
      if (line.includes('[Parsed_showinfo_')) return;
      this.tail.push(redact(line));
      if (this.tail.length > TAIL_LINES) this.tail.shift();
    });
    cmd.on('error', () => {
      if (!this.proc) this.settle(null, null);
    });
    cmd.on('end', () => {
      /* settled on 'close' */
    });
    this.input.on('error', () => {
      /* ffmpeg gone; settled on 'close' */
    });
    this.input.write(flvHeader());
    // keyframes sent before its turn wait in `input`; cameras already wait for it, so it goes first
    inSpawnTurn(
      () => {
        if (this.stopping) return this.settle(null, null);
        try {
          cmd.run();
        } catch (e) {
          // answered decoder_exit; the pool logs the tail and replaces it with backoff
          this.tail.push(redact(`spawn failed: ${e instanceof Error ? e.message : String(e)}`));
          this.settle(null, null);
        }
      },
      { first: true },
    );
  }

  /** Sends one Annex B keyframe (SPS/PPS included); the answer comes in decode order. */
  decode(annexB: Buffer): Promise<DecodeOutcome> {
    if (this.alive && this.nextTs > MAX_TS) void this.stop(); // no longer alive: the pool starts another
    if (!this.alive) return Promise.resolve({ ok: false, reason: 'decoder_exit' });
    const ts = this.nextTs++;
    return new Promise((done) => {
      this.waiting++;
      this.jobs.push({
        ts,
        sentAt: Date.now(),
        done: (o) => {
          this.waiting--;
          done(o);
        },
      });
      // three writes, not a joined copy of a ~100 KB keyframe (each copy is garbage for the main isolate)
      for (const part of flvKeyframeTagParts(ts, annexB)) this.input.write(part);
      this.armFiller();
    });
  }

  /**
   * While keyframes wait for their picture, a filler goes in after FILLER_MS in which nothing came in or out,
   * and again at doubling intervals (up to 2 s) while they still wait.
   */
  private armFiller(delayMs = this.opts.fillerMs ?? FILLER_MS): void {
    if (this.fillerTimer) clearTimeout(this.fillerTimer);
    this.fillerTimer = setTimeout(() => {
      this.fillerTimer = undefined;
      if (!this.waiting || !this.alive || this.nextTs > MAX_TS) return;
      const ts = this.nextTs++;
      this.jobs.push({ ts, sentAt: Date.now() });
      this.fillersSent++;
      this.input.write(flvKeyframeTag(ts, FILLER));
      this.armFiller(Math.min(delayMs * 2, 2000));
    }, delayMs);
  }

  private answer(ts: number, data: Buffer): void {
    // Every job before the frame that came out gave no picture (a broken keyframe); a filler needs no answer.
    while (this.jobs.length && this.jobs[0]!.ts < ts) this.jobs.shift()!.done?.({ ok: false, reason: 'undecodable' });
    if (this.jobs.length && this.jobs[0]!.ts === ts) this.jobs.shift()!.done?.({ ok: true, data });
    if (this.waiting) this.armFiller();
    else if (this.fillerTimer) {
      clearTimeout(this.fillerTimer);
      this.fillerTimer = undefined;
    }
  }

  private settle(code: number | null, signal: string | null): void {
    if (this.settled) return;
    this.settled = true;
    if (this.fillerTimer) clearTimeout(this.fillerTimer);
    for (const j of this.jobs.splice(0)) j.done?.({ ok: false, reason: 'decoder_exit' });
    this.resolveExit({ code, signal, stderrTail: [...this.tail] });
  }

  /** Idempotent: ends the input (ffmpeg finishes what it has), then SIGTERM and SIGKILL if it does not exit. */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      if (!this.started || this.settled) return;
      if (this.fillerTimer) clearTimeout(this.fillerTimer);
      // Until fluent-ffmpeg reports 'start' the child may not exist yet; give it a moment.
      for (let i = 0; i < 50 && !this.proc && !this.settled; i++) await new Promise((r) => setTimeout(r, 20));
      if (!this.proc) {
        this.input.end();
        return;
      }
      await stopChild(this.proc, this.exited, this.opts.stopStepMs ?? 2000, () => this.input.end());
    })());
  }
}
