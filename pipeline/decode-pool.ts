import { availableParallelism } from 'node:os';
import type { Config, FrameSizeConfig } from '../config/schema.js';
import type { Service } from '../core/lifecycle.js';
import type { Logger } from '../core/log.js';
import { backoffDelay } from '../core/retry.js';
import { SharedDecoder, type DecodeOutcome } from './ffmpeg/shared-decoder.js';

/**
 * A keyframe's answer. Without a picture, the reason is one of the drop points of shared decoding, each counted
 * in streetwatch_frames_dropped_total: decode_queue_full (a live camera's keyframe found its decoder's queue
 * full), undecodable (the decoder gave no picture for it), decoder_exit (its decoder exited, hung or is
 * backing off after failures).
 */
export type PoolOutcome = DecodeOutcome | { ok: false; reason: 'decode_queue_full' };

export interface DecodePoolOptions {
  /** Decoder processes per frame size (each decodes one keyframe at a time on one core). */
  processes: number;
  /** Keyframes waiting in one decoder beyond which a live camera's next keyframe is dropped. */
  maxPending: number;
  /** Niceness the cameras' receivers run at (config `decoding.receiverNice`; applied by the camera). */
  receiverNice?: number;
  /** A decoder whose oldest keyframe waited this long is hung: it is killed and replaced. Default 15 s. */
  hungAfterMs?: number;
  log: Logger;
  ffmpegPath?: string;
  stopStepMs?: number;
}

interface Lane {
  decoder: SharedDecoder | undefined;
  cameras: number;
  failures: number;
  retryAt: number;
  spawnedAt: number;
}

/**
 * The shared keyframe decoders of one process. A camera's receiver ffmpeg only receives (ring + keyframes);
 * the keyframes it picks go to one of these, so the cost of a decoder process — its heap, frame pools and
 * libraries, ≈ 13 MB of PSS per camera when each camera has its own — is paid a few times per machine
 * instead of once per camera. Each camera is pinned to one decoder (the least loaded when it first asks), so
 * its frames come back in order. A decoder that exits is replaced at the next keyframe (with backoff when it
 * keeps failing); the keyframes it held are answered `decoder_exit`.
 */
export class DecodePool implements Service {
  private readonly lanes = new Map<string, Lane[]>();
  private readonly pinned = new Map<string, { size: string; lane: number }>();
  private stopped = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: DecodePoolOptions) {
    if (!Number.isInteger(opts.processes) || opts.processes < 1) throw new RangeError(`decode pool processes must be a positive integer, got ${opts.processes}`);
  }

  async start(): Promise<void> {
    // Decoders start with the first keyframe of their frame size.
  }

  /**
   * Decodes one Annex B keyframe of `cameraId` at `frame` size. `wait`: queue it however long the queue is
   * (a file read as fast as possible, whose reader waits for each answer); otherwise a full queue drops it.
   */
  decode(cameraId: string, frame: FrameSizeConfig, annexB: Buffer, wait = false): Promise<PoolOutcome> {
    if (this.stopped) return Promise.resolve({ ok: false, reason: 'decoder_exit' });
    const size = `${frame.width}x${frame.height}`;
    const lanes = this.lanesFor(size);
    let pin = this.pinned.get(cameraId);
    if (!pin || pin.size !== size) {
      if (pin) this.release(cameraId);
      let best = 0;
      for (let i = 1; i < lanes.length; i++) if (lanes[i]!.cameras < lanes[best]!.cameras) best = i;
      lanes[best]!.cameras++;
      pin = { size, lane: best };
      this.pinned.set(cameraId, pin);
    }
    const lane = lanes[pin.lane]!;
    const decoder = this.ready(lane, frame);
    if (!decoder) return Promise.resolve({ ok: false, reason: 'decoder_exit' });
    if (!wait && decoder.pending >= this.opts.maxPending) return Promise.resolve({ ok: false, reason: 'decode_queue_full' });
    return decoder.decode(annexB);
  }

  /** Niceness for the receivers that feed this pool. */
  get receiverNice(): number {
    return this.opts.receiverNice ?? 0;
  }

  /** A camera that stopped no longer counts toward its decoder's load. */
  release(cameraId: string): void {
    const pin = this.pinned.get(cameraId);
    if (!pin) return;
    this.pinned.delete(cameraId);
    const lane = this.lanes.get(pin.size)?.[pin.lane];
    if (lane) lane.cameras--;
  }

  /** Decoder processes running, for status and tests. */
  pids(): number[] {
    const out: number[] = [];
    for (const lanes of this.lanes.values()) for (const l of lanes) if (l.decoder?.alive && l.decoder.pid !== undefined) out.push(l.decoder.pid);
    return out;
  }

  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      this.stopped = true;
      const all: Promise<void>[] = [];
      for (const lanes of this.lanes.values()) for (const l of lanes) if (l.decoder) all.push(l.decoder.stop());
      await Promise.all(all);
    })());
  }

  private lanesFor(size: string): Lane[] {
    let lanes = this.lanes.get(size);
    if (!lanes) {
      lanes = Array.from({ length: this.opts.processes }, () => ({ decoder: undefined, cameras: 0, failures: 0, retryAt: 0, spawnedAt: 0 }));
      this.lanes.set(size, lanes);
    }
    return lanes;
  }

  /** The lane's decoder, spawned or replaced if needed; undefined while a failing one is backing off. */
  private ready(lane: Lane, frame: FrameSizeConfig): SharedDecoder | undefined {
    const current = lane.decoder;
    const hungAfterMs = this.opts.hungAfterMs ?? 15_000;
    if (current?.alive && current.oldestWaitMs() > hungAfterMs) {
      // Alive but not answering (a wedged ffmpeg): its keyframes are answered decoder_exit as it goes down.
      this.opts.log.warn({ size: `${frame.width}x${frame.height}`, pid: current.pid, waitedMs: current.oldestWaitMs() }, 'a shared keyframe decoder stopped answering: replacing it');
      void current.stop();
    }
    if (current?.alive) return current;
    const now = Date.now();
    if (now < lane.retryAt) return undefined;
    const d = new SharedDecoder(frame, { ffmpegPath: this.opts.ffmpegPath, stopStepMs: this.opts.stopStepMs });
    lane.decoder = d;
    lane.spawnedAt = now;
    d.start();
    void d.exited.then((exit) => {
      if (this.stopped || lane.decoder !== d) return;
      // A decoder that lived a while had no lasting problem: the next one starts at once.
      lane.failures = Date.now() - lane.spawnedAt > 10_000 ? 0 : lane.failures + 1;
      lane.retryAt = Date.now() + (lane.failures ? backoffDelay(lane.failures - 1, { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 }) : 0);
      this.opts.log.warn(
        { size: `${frame.width}x${frame.height}`, code: exit.code, signal: exit.signal, stderr: exit.stderrTail.slice(-5), retryInMs: lane.retryAt - Date.now() },
        'a shared keyframe decoder exited; its cameras’ keyframes are dropped until it is replaced',
      );
    });
    return d;
  }
}

/** The shared keyframe decoders a config asks for (`decoding`), or undefined when it turns them off. */
export function createDecodePool(config: Config, log: Logger, deps?: { ffmpegPath?: string; stopStepMs?: number }): DecodePool | undefined {
  const d = config.decoding;
  if (!d.shared) return undefined;
  return new DecodePool({
    processes: d.processes || availableParallelism(),
    maxPending: d.maxPending,
    receiverNice: d.receiverNice,
    log: log.child({ part: 'decode-pool' }),
    ...(deps?.ffmpegPath ? { ffmpegPath: deps.ffmpegPath } : {}),
    ...(deps?.stopStepMs ? { stopStepMs: deps.stopStepMs } : {}),
  });
}
