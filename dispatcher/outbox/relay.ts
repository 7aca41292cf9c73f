import type { Logger } from '../../core/log.js';
import { once, type Service } from '../../core/lifecycle.js';
import { backoffDelay, DEFAULT_BACKOFF, sleep, type BackoffPolicy } from '../../core/retry.js';
import type { OutboxRow } from '../incidents/store.js';
import type { TicketSink } from '../sink/sink.js';

/**
 * The outbox relay: publishes the store's unsent outbox rows through the sink, in order, and marks them sent
 * only after the broker acknowledged them. A broker that is down is waited out with backoff; nothing is
 * dropped, and rows written while it was down go out when it is back. After a crash the rows still unsent are
 * published on the next start: delivery is at least once, and the ticket id (= incident id) is the
 * consumers' idempotency key for the rare duplicate (a crash between the broker's ack and the commit here).
 */
export interface OutboxStore {
  unsent(limit: number): OutboxRow[];
  markSent(rows: readonly OutboxRow[], nowMs: number): void;
  markFailed(rows: readonly OutboxRow[], error: string): void;
}

export interface RelayOptions {
  store: OutboxStore;
  sink: TicketSink;
  log: Logger;
  /** Rows per publish. */
  batch?: number;
  /** Polls this often when nothing woke it (a row written by another process, a missed wake-up). */
  idleMs?: number;
  backoff?: BackoffPolicy;
  now?: () => number;
  /** Called after each acknowledged batch, with the rows and the ms from their creation to the ack. */
  onSent?: (rows: readonly OutboxRow[], latencyMs: number[]) => void;
}

export class OutboxRelay implements Service {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private failures = 0;

  constructor(private readonly o: RelayOptions) {}

  async start(): Promise<void> {
    this.loop ??= this.run();
  }

  /** New rows were written: publish now rather than at the next poll. */
  wake(): void {
    this.wakeUp?.();
  }

  readonly stop = once(async () => {
    this.abort.abort();
    this.wakeUp?.();
    await this.loop;
  });

  private async run(): Promise<void> {
    const { store, sink, log } = this.o;
    const now = this.o.now ?? Date.now;
    while (!this.abort.signal.aborted) {
      const rows = store.unsent(this.o.batch ?? 100);
      if (rows.length === 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.o.idleMs ?? 1000);
          this.wakeUp = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wakeUp = undefined;
        continue;
      }
      try {
        await sink.publish(rows.map((r) => ({ topic: r.topic, key: r.key, value: r.value, headers: r.headers })));
        const at = now();
        store.markSent(rows, at);
        this.failures = 0;
        this.o.onSent?.(rows, rows.map((r) => at - r.createdMs));
      } catch (e) {
        const message = (e as Error).message;
        store.markFailed(rows, message);
        const delay = backoffDelay(this.failures++, this.o.backoff ?? DEFAULT_BACKOFF);
        log.warn({ err: message, rows: rows.length, retryInMs: delay }, 'outbox: publish failed; keeping the rows and retrying');
        await sleep(delay, this.abort.signal).catch(() => undefined);
      }
    }
  }
}
