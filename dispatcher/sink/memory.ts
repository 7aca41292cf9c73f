import { StreetwatchError } from '../../core/errors.js';
import { intakeStatus, type IntakeOutcome, type StatusIntakeDeps } from './status-intake.js';
import type { OutMessage, StatusHandler, StatusMessageMeta, StatusSource, TicketSink } from './sink.js';

/**
 * In-memory transport for tests and benchmarks (the embedded mode uses ConsoleInboxSink, which keeps nothing). Same
 * contracts as Kafka: publish() rejects outside start()…stop(), messages are copied so a caller mutating its
 * array afterwards changes nothing, and a status goes through the same validation and dead-letter path.
 */

export class MemoryTicketSink implements TicketSink {
  /** Every acknowledged message, in publish order. */
  readonly messages: OutMessage[] = [];
  private running = false;
  private failures: Error[] = [];

  async start(): Promise<void> {
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
  }

  /** Makes the next publish() reject with `err` (tests of the caller's retry path). */
  failNext(err: Error): void {
    this.failures.push(err);
  }

  async publish(msgs: readonly OutMessage[]): Promise<void> {
    if (!this.running) throw new StreetwatchError('SINK_NOT_STARTED', 'the in-memory ticket sink is not started; call start() first');
    const failure = this.failures.shift();
    if (failure) throw failure;
    // All or nothing, like one acknowledged batch.
    this.messages.push(...msgs.map((m) => ({ ...m, ...(m.headers && { headers: { ...m.headers } }) })));
  }

  /** The messages published to one topic. */
  topic(name: string): OutMessage[] {
    return this.messages.filter((m) => m.topic === name);
  }
}

export interface MemoryStatusSourceOptions extends Omit<StatusIntakeDeps, 'handler'> {
  /** The topic name reported in meta and dead letters. */
  topic: string;
}

export class MemoryStatusSource implements StatusSource {
  private handler: StatusHandler | undefined;
  private running = false;
  private nextOffset = 0n;

  constructor(private readonly opts: MemoryStatusSourceOptions) {}

  onMessage(handler: StatusHandler): void {
    this.handler = handler;
  }

  async start(): Promise<void> {
    if (!this.handler) throw new StreetwatchError('USAGE', 'MemoryStatusSource: call onMessage(handler) before start()');
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
  }

  /** Delivers one raw message as a squad system would write it; resolves when it is handled or dead-lettered. */
  async deliver(raw: Uint8Array | string | null, key?: string): Promise<IntakeOutcome> {
    if (!this.running || !this.handler) throw new StreetwatchError('SINK_NOT_STARTED', 'the in-memory status source is not started');
    const meta: StatusMessageMeta = { topic: this.opts.topic, partition: 0, offset: String(this.nextOffset++), ...(key !== undefined && { key }) };
    return intakeStatus(raw, meta, { ...this.opts, handler: this.handler });
  }
}
