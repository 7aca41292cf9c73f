import { open, stat } from 'node:fs/promises';
import { ErrorCodes, StreetwatchError } from '../../../core/errors.js';
import { once, type Service } from '../../../core/lifecycle.js';
import { log as rootLog, type Logger } from '../../../core/log.js';
import type { FramePosition } from '../../../core/types.js';
import { JsonlParser, detectTelemetryFormat, sniffTelemetryFormat } from './jsonl.js';
import { NmeaParser } from './nmea.js';
import { TelemetryTrack, type TelemetryLineParser, type TelemetryLineResult } from './track.js';

export type TelemetryFormat = 'nmea' | 'jsonl';

export interface TelemetryFeedOptions {
  path: string;
  format: 'auto' | TelemetryFormat;
  cameraId: string;
  log?: Logger;
  /** How often the file size is checked for appended lines. Default 500 ms. */
  pollMs?: number;
  /** Where fixes go; a new TelemetryTrack with its default bounds when omitted. */
  track?: TelemetryTrack;
  /** Bad lines are logged the first time and then once per this many. Default 100. */
  logEvery?: number;
}

export interface TelemetryFeedStats {
  /** Non-blank lines read. */
  lines: number;
  /** Distinct fix timestamps (an RMC and a GGA of one epoch count once). */
  fixes: number;
  /** Explicit no-fix statements. */
  noFix: number;
  errors: number;
  /** Valid lines without a position (GSV, VTG, …). */
  ignored: number;
}

const CHUNK_BYTES = 1 << 20;
/** Longer than any real NMEA (82 chars) or JSON line; beyond it the file is binary or not line-based. */
const MAX_LINE_BYTES = 64 * 1024;
/** A fix this far past the clock has a wrong date, and would make the age bound evict every real fix. */
const MAX_FUTURE_MS = 86_400_000;
const KEPT_ERRORS = 5;
const EMPTY = Buffer.alloc(0);

const EXPECTED: Record<TelemetryFormat, string> = {
  nmea: 'NMEA 0183 RMC/GGA sentences with checksums, one per line, e.g. "$GPRMC,083559.00,A,3114.0285,N,12128.1045,E,5.2,87.5,010524,,,A*hh"',
  jsonl: 'JSON lines like {"ts":"2024-05-01T08:35:59+08:00","lat":31.2338,"lon":121.4684,"heading":87.5,"speed":2.7}',
};

/**
 * GPS telemetry of one vehicle camera: reads the sidecar file from the beginning, then follows what the logger
 * appends (like `tail -F`), feeding a TelemetryTrack that frames ask for their position.
 *
 * The file is polled by size rather than watched: fs.watch is unreliable on network mounts and for rotation, and a
 * GPS logger appends at 1–10 Hz, so a 500 ms poll costs nothing.
 */
export class TelemetryFeed implements Service {
  readonly track: TelemetryTrack;
  readonly path: string;
  readonly cameraId: string;
  private readonly requested: 'auto' | TelemetryFormat;
  private readonly pollMs: number;
  private readonly logEvery: number;
  private readonly log: Logger;

  private format: TelemetryFormat | undefined;
  /** True when `auto` found neither NMEA nor JSON lines and fell back; the error message then says so. */
  private formatGuessed = false;
  private parser: TelemetryLineParser | undefined;
  private counts: TelemetryFeedStats = { lines: 0, fixes: 0, noFix: 0, errors: 0, ignored: 0 };
  private firstErrors: { line: number; message: string }[] = [];
  private earliestFixMs: number | undefined;

  /** Bytes of the file already read (including `partial`). */
  private offset = 0;
  private ino: number | undefined;
  private dev: number | undefined;
  /** Bytes after the last newline, waiting for the rest of their line. */
  private partial: Buffer = EMPTY;
  private lineNo = 0;
  /**
   * What the next newline-terminated piece continues: a tail already parsed because it was visibly complete (its
   * newline comes later), or an overlong line already reported. Either way the piece is not a new line.
   */
  private continuation: 'tail' | 'overlong' | undefined;

  private started = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  private lastPollError: string | undefined;

  constructor(opts: TelemetryFeedOptions) {
    this.path = opts.path;
    this.cameraId = opts.cameraId;
    this.requested = opts.format;
    this.pollMs = opts.pollMs ?? 500;
    this.logEvery = opts.logEvery ?? 100;
    if (!(this.pollMs > 0)) throw new RangeError(`pollMs must be > 0, got ${this.pollMs}`);
    if (!(this.logEvery >= 1)) throw new RangeError(`logEvery must be >= 1, got ${this.logEvery}`);
    this.track = opts.track ?? new TelemetryTrack();
    this.log = (opts.log ?? rootLog()).child({ component: 'telemetry', camera: opts.cameraId, file: opts.path });
    if (opts.format !== 'auto') this.useFormat(opts.format);
  }

  /** The format in use: the configured one, or what `auto` detected (undefined while the file is still empty). */
  get resolvedFormat(): TelemetryFormat | undefined {
    return this.format;
  }

  /** Earliest fix time read so far (kept even after the track evicts it): the default PTS 0 of a recorded video. */
  firstFixMs(): number | undefined {
    return this.earliestFixMs;
  }

  stats(): TelemetryFeedStats {
    return { ...this.counts };
  }

  positionAt(wallMs: number, maxGapMs: number): FramePosition {
    return this.track.positionAt(wallMs, maxGapMs);
  }

  async start(): Promise<void> {
    if (this.stopped) throw new StreetwatchError(ErrorCodes.STOPPED, `camera ${this.cameraId}: telemetry feed was stopped; create a new one`);
    if (this.started) return;
    this.started = true;
    try {
      const st = await stat(this.path);
      if (!st.isFile()) {
        throw this.notFound(`is not a regular file; point telemetry.path at the file the GPS logger writes`);
      }
      await this.readNew();
    } catch (e) {
      this.stopped = true;
      if (e instanceof StreetwatchError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        throw this.notFound(
          'does not exist; check telemetry.path in the camera config (relative paths are resolved from the config file) and that the GPS logger is writing it',
          e,
        );
      }
      throw this.notFound(`cannot be read (${code ?? (e as Error).message}); check its permissions`, e);
    }
    const c = this.counts;
    // Ignored sentences (GSV, VTG) do not make a file usable: with every RMC/GGA broken there is still no position.
    if (c.fixes === 0 && c.noFix === 0 && c.errors > 0) {
      this.stopped = true;
      throw this.invalid();
    }
    this.log.info({ format: this.format, ...c }, 'telemetry file read; following appended lines');
    this.schedule();
  }

  stop(): Promise<void> {
    return this.stopOnce();
  }

  private readonly stopOnce = once(async () => {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inflight;
  });

  private schedule(): void {
    if (this.stopped) return;
    // unref: a telemetry tail alone is no reason to keep the process alive; the camera pipeline is.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.inflight = this.poll().finally(() => {
        this.inflight = undefined;
        this.schedule();
      });
    }, this.pollMs).unref();
  }

  private async poll(): Promise<void> {
    try {
      await this.readNew();
      if (this.lastPollError !== undefined) {
        this.log.info('telemetry file readable again');
        this.lastPollError = undefined;
      }
    } catch (e) {
      // Rotation briefly removes the file; keep polling and say so once, not every 500 ms.
      const msg = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      if (msg !== this.lastPollError) this.log.warn({ err: e }, `telemetry file ${this.path} cannot be read (${msg}); still retrying`);
      this.lastPollError = msg;
    }
  }

  private async readNew(): Promise<void> {
    const fh = await open(this.path, 'r');
    try {
      const st = await fh.stat();
      const replaced = this.ino !== undefined && (st.ino !== this.ino || st.dev !== this.dev);
      if (replaced || st.size < this.offset) {
        this.log.info({ replaced, size: st.size, offset: this.offset }, 'telemetry file was truncated or replaced; reading it from the start');
        this.restart();
      }
      this.ino = st.ino;
      this.dev = st.dev;
      const buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(1, st.size - this.offset)));
      while (this.offset < st.size && !this.stopped) {
        const want = Math.min(buf.length, st.size - this.offset);
        const { bytesRead } = await fh.read(buf, 0, want, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        this.consume(buf.subarray(0, bytesRead));
      }
      this.consumeTail();
    } finally {
      await fh.close();
    }
  }

  private restart(): void {
    this.offset = 0;
    this.partial = EMPTY;
    this.lineNo = 0;
    this.continuation = undefined;
    if (this.requested === 'auto') {
      this.format = undefined;
      this.formatGuessed = false;
      this.parser = undefined;
    } else if (this.parser instanceof NmeaParser) {
      // A new file may start on another day: its first GGA must not inherit the old file's date.
      this.parser.reset();
    }
  }

  private consume(chunk: Buffer): void {
    // Newline bytes never occur inside a UTF-8 multi-byte sequence, so splitting bytes at 0x0A is safe.
    const buf = this.partial.length > 0 ? Buffer.concat([this.partial, chunk]) : chunk;
    if (this.format === undefined) this.detect(buf);
    let start = 0;
    for (let nl = buf.indexOf(0x0a, start); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      if (nl - start > MAX_LINE_BYTES && this.continuation === undefined) this.overlong();
      else this.line(buf.toString('utf8', start, nl));
      start = nl + 1;
    }
    // Copy: `chunk` is the read buffer and is overwritten by the next read.
    this.partial = Buffer.from(buf.subarray(start));
    // Still inside an overlong line already reported: drop its bytes until its newline arrives.
    if (this.continuation === 'overlong') this.partial = EMPTY;
    else if (this.partial.length > MAX_LINE_BYTES) {
      this.overlong();
      this.partial = EMPTY;
      this.continuation = 'overlong';
    }
  }

  private overlong(): void {
    this.lineNo++;
    this.counts.lines++;
    this.result({ kind: 'error', line: this.lineNo, message: `line longer than ${MAX_LINE_BYTES} bytes (binary data?)` });
  }

  /**
   * A last line without its newline is parsed only when it is visibly whole (NMEA checksum, closed JSON object), so
   * a file that simply lacks a final newline is read completely while a logger's half-flushed line waits.
   */
  private consumeTail(): void {
    if (this.partial.length === 0 || this.continuation !== undefined || this.format === undefined) return;
    const text = this.partial.toString('utf8').trim();
    if (!looksComplete(text, this.format)) return;
    this.partial = EMPTY;
    this.line(text);
    this.continuation = 'tail';
  }

  private detect(buf: Buffer): void {
    const sample = buf.toString('utf8', 0, Math.min(buf.length, MAX_LINE_BYTES));
    const sniffed = sniffTelemetryFormat(sample);
    if (sniffed !== undefined) {
      this.useFormat(sniffed);
      return;
    }
    // Nothing recognisable: decide only once a whole non-blank line exists, so an empty file that the logger has
    // only just created is not locked into a guess.
    const lastNl = sample.lastIndexOf('\n');
    if (lastNl >= 0 && sample.slice(0, lastNl).trim() !== '') {
      this.formatGuessed = true;
      this.useFormat(detectTelemetryFormat(sample));
    }
  }

  private useFormat(f: TelemetryFormat): void {
    this.format = f;
    this.parser = f === 'nmea' ? new NmeaParser() : new JsonlParser();
    if (this.requested === 'auto') this.log.debug({ format: f, guessed: this.formatGuessed }, 'telemetry format detected');
  }

  private line(text: string): void {
    const cont = this.continuation;
    this.continuation = undefined;
    if (cont === 'overlong') return;
    const blank = text.trim() === '';
    if (cont === 'tail') {
      if (blank) return;
    } else {
      this.lineNo++;
    }
    if (blank || this.parser === undefined) return;
    this.counts.lines++;
    const r = this.parser.push(text, this.lineNo);
    if (r !== undefined) this.result(r);
  }

  private result(r: TelemetryLineResult): void {
    const c = this.counts;
    switch (r.kind) {
      case 'fix':
        if (r.fix.ts > Date.now() + MAX_FUTURE_MS) {
          this.result({ kind: 'error', line: this.lineNo, message: `fix time ${new Date(r.fix.ts).toISOString()} is in the future (wrong date in the logger?)` });
          return;
        }
        this.track.add(r.fix);
        if (!r.merged) c.fixes++;
        if (this.earliestFixMs === undefined || r.fix.ts < this.earliestFixMs) this.earliestFixMs = r.fix.ts;
        return;
      case 'no_fix':
        this.track.markNoFix(r.ts);
        if (!r.merged) c.noFix++;
        return;
      case 'ignored':
        c.ignored++;
        return;
      case 'error':
        c.errors++;
        if (this.firstErrors.length < KEPT_ERRORS) this.firstErrors.push({ line: r.line, message: r.message });
        if (c.errors === 1 || c.errors % this.logEvery === 0) {
          this.log.warn(
            { line: r.line, reason: r.message, errors: c.errors },
            `${this.path}:${r.line}: ${r.message} (bad telemetry line #${c.errors}; logging 1 in ${this.logEvery})`,
          );
        }
        return;
    }
  }

  private notFound(what: string, cause?: unknown): StreetwatchError {
    return new StreetwatchError(ErrorCodes.TELEMETRY_NOT_FOUND, `camera ${this.cameraId}: telemetry file ${this.path} ${what}`, {
      cause,
      details: { cameraId: this.cameraId, path: this.path },
    });
  }

  private invalid(): StreetwatchError {
    const format = this.format ?? 'nmea';
    const first = this.firstErrors.map((e) => `line ${e.line}: ${e.message}`).join('; ');
    const how =
      this.requested !== 'auto'
        ? `telemetry.format is "${this.requested}"; if the file is the other format, change it`
        : this.formatGuessed
          ? 'format "auto" found neither $-sentences nor {…} lines and tried NMEA'
          : `format "auto" detected ${format}; if that is wrong, set telemetry.format`;
    return new StreetwatchError(
      ErrorCodes.TELEMETRY_INVALID,
      `camera ${this.cameraId}: telemetry file ${this.path} has no usable GPS fix: ${this.counts.errors} bad line(s) and no fix. ` +
        `First errors: ${first}. Expected ${EXPECTED[format]} (${how}).`,
      { details: { cameraId: this.cameraId, path: this.path, format, errors: this.firstErrors, stats: this.stats() } },
    );
  }
}

function looksComplete(text: string, format: TelemetryFormat): boolean {
  if (format === 'nmea') return /^\$.*\*[0-9A-Fa-f]{2}$/.test(text);
  if (!text.startsWith('{') || !text.endsWith('}')) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
