import type { Frame } from '../core/types.js';
import type { Metrics } from '../core/metrics.js';

/**
 * Between decoders and detectors. Each camera has a latest-frame slot: a newer frame replaces an older one
 * that was not yet queued (the rules need the current scene, not a backlog). Slots feed a bounded FIFO queue
 * in camera-arrival order, so one busy camera cannot starve the others. Consumers take batches across cameras.
 *
 * This is the only place frames are dropped, and every drop is counted by camera and reason:
 *   superseded      a newer frame of the same camera replaced it in the slot
 *   stale           it waited longer than maxFrameAgeSec before a detector took it
 *   camera_removed  its camera was removed or restarted (config change)
 *   shutdown        the pipeline stopped with the frame still waiting
 */
export type DropReason = 'superseded' | 'stale' | 'camera_removed' | 'shutdown';

export interface SchedulerOptions {
  queueCapacity: number;
  maxFrameAgeMs: number;
  metrics?: Metrics;
  now?: () => number;
  onDrop?: (frame: Frame, reason: DropReason) => void;
}

interface Waiter {
  max: number;
  resolve: (frames: Frame[]) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class FrameScheduler {
  private readonly slots = new Map<string, Frame>();
  /** Cameras with a frame in their slot, in arrival order (each at most once). */
  private readonly slotOrder: string[] = [];
  private readonly queue: Frame[] = [];
  private readonly waiters: Waiter[] = [];
  private closed = false;
  readonly dropped = new Map<string, number>();

  constructor(private readonly opts: SchedulerOptions) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  get queueLength(): number {
    return this.queue.length;
  }

  get slotCount(): number {
    return this.slots.size;
  }

  /** Offers a decoded frame. Never blocks the decoder. */
  offer(frame: Frame): void {
    if (this.closed) return this.drop(frame, 'shutdown');
    const old = this.slots.get(frame.cameraId);
    if (old) this.drop(old, 'superseded');
    else this.slotOrder.push(frame.cameraId);
    this.slots.set(frame.cameraId, frame);
    this.arrivedAt.set(frame, this.now());
    this.pump();
  }

  /**
   * Resolves with 1..max frames as soon as any is ready (oldest queued first), or [] when the scheduler is
   * closed or `signal` aborts.
   */
  take(max: number, signal?: AbortSignal): Promise<Frame[]> {
    const ready = this.takeNow(max);
    if (ready.length || this.closed || signal?.aborted) return Promise.resolve(ready);
    return new Promise((resolve) => {
      const w: Waiter = { max, resolve, signal };
      if (signal) {
        w.onAbort = () => {
          this.removeWaiter(w);
          resolve([]);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
    });
  }

  /** Drops whatever one camera has waiting (its slot and queued frames). */
  forgetCamera(cameraId: string, reason: DropReason = 'camera_removed'): void {
    const slotFrame = this.slots.get(cameraId);
    if (slotFrame) {
      this.slots.delete(cameraId);
      this.slotOrder.splice(this.slotOrder.indexOf(cameraId), 1);
      this.drop(slotFrame, reason);
    }
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i]!.cameraId === cameraId) this.drop(this.queue.splice(i, 1)[0]!, reason);
    }
    this.pump();
  }

  /** Drops everything still waiting and releases every waiting consumer with []. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.queue.splice(0)) this.drop(f, 'shutdown');
    for (const id of this.slotOrder.splice(0)) {
      const f = this.slots.get(id);
      if (f) this.drop(f, 'shutdown');
    }
    this.slots.clear();
    for (const w of this.waiters.splice(0)) {
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      w.resolve([]);
    }
    this.opts.metrics?.schedulerQueue.set(0);
  }

  private takeNow(max: number): Frame[] {
    const out: Frame[] = [];
    const now = this.now();
    const oldest = now - this.opts.maxFrameAgeMs;
    this.fill();
    while (out.length < max) {
      const f = this.queue.shift();
      if (!f) break;
      // Age counts from arrival here, not from the frame's wall time: a recorded file's frames carry the
      // video's own (old) times and are not stale for that.
      if ((this.arrivedAt.get(f) ?? oldest) < oldest) {
        this.drop(f, 'stale');
      } else {
        out.push(f);
        this.opts.metrics?.framesScheduled.inc({ camera: f.cameraId });
        this.opts.metrics?.schedulerWait.observe((now - (this.arrivedAt.get(f) ?? now)) / 1000);
      }
      this.fill();
    }
    this.opts.metrics?.schedulerQueue.set(this.queue.length);
    return out;
  }

  private readonly arrivedAt = new WeakMap<Frame, number>();

  /** Moves slot frames into the queue, oldest camera first, while it has room. */
  private fill(): void {
    while (this.queue.length < this.opts.queueCapacity && this.slotOrder.length) {
      const id = this.slotOrder.shift()!;
      const f = this.slots.get(id);
      this.slots.delete(id);
      if (f) this.queue.push(f);
    }
  }

  /** After an offer: fill the queue and serve waiting consumers. */
  private pump(): void {
    this.fill();
    while (this.waiters.length && this.queue.length) {
      const w = this.waiters.shift()!;
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      const frames = this.takeNow(w.max);
      if (frames.length) w.resolve(frames);
      else {
        this.waiters.unshift(w);
        break;
      }
    }
    this.opts.metrics?.schedulerQueue.set(this.queue.length);
  }

  private removeWaiter(w: Waiter): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  private drop(frame: Frame, reason: DropReason): void {
    const key = `${frame.cameraId}\u0000${reason}`;
    this.dropped.set(key, (this.dropped.get(key) ?? 0) + 1);
    this.opts.metrics?.framesDropped.inc({ camera: frame.cameraId, reason });
    this.opts.onDrop?.(frame, reason);
  }

  /** Drop counts for one camera, by reason. */
  dropsFor(cameraId: string): Partial<Record<DropReason, number>> {
    const out: Partial<Record<DropReason, number>> = {};
    for (const [k, v] of this.dropped) {
      const [cam, reason] = k.split('\u0000') as [string, DropReason];
      if (cam === cameraId) out[reason] = v;
    }
    return out;
  }
}
