import type { Logger } from '../core/log.js';
import { once, type Service } from '../core/lifecycle.js';
import type { IncidentStore } from '../dispatcher/incidents/store.js';
import type { Incident } from '../dispatcher/incidents/types.js';
import { maySee, type Principal } from './auth.js';

/**
 * The change feed behind `WS /api/events`: polls the store for incidents changed since the last look and
 * pushes each to the subscribers allowed to see it. Polling the store (an indexed query every
 * `intervalMs`, only while someone listens) rather than hooking the writers means every change is seen —
 * hits, tickets, evidence, squads' reports arriving over Kafka, actions in another console process — with one
 * mechanism, within `intervalMs`.
 */

export interface FeedMessage {
  type: 'incident';
  change: 'created' | 'updated';
  incident: unknown;
}

interface Subscriber {
  principal: Principal;
  send: (msg: FeedMessage) => void;
  /** Ends the subscription from our side (its token was revoked). */
  close: () => void;
}

/** Look back this far on every poll: a change written with a slightly older clock (another process) is not missed. */
const OVERLAP_MS = 2000;

export class IncidentFeed implements Service {
  private readonly subs = new Set<Subscriber>();
  private timer: NodeJS.Timeout | undefined;
  private cursor = 0;
  /** `${id}@${updatedMs}` already pushed within the overlap window. */
  private readonly sent = new Map<string, number>();
  /** Ids announced as created (bounded: only recent creations matter). */
  private readonly announced = new Set<string>();

  constructor(
    private readonly o: {
      store: Pick<IncidentStore, 'search'>;
      /** The incident as the subscriber may see it (URLs are signed per principal). */
      view: (inc: Incident, p: Principal) => unknown;
      /** Whether a subscriber's token is still valid; checked on every poll, so a revoked token stops receiving. */
      isCurrent?: (p: Principal) => boolean;
      log: Logger;
      now?: () => number;
      intervalMs?: number;
    },
  ) {}

  private get now(): number {
    return (this.o.now ?? Date.now)();
  }

  async start(): Promise<void> {
    if (this.timer) return;
    this.cursor = this.now;
    this.timer = setInterval(() => this.poll(), this.o.intervalMs ?? 250);
    this.timer.unref();
  }

  /** Adds a subscriber; returns the function that removes it. `close` is called if its token is revoked. */
  subscribe(principal: Principal, send: (msg: FeedMessage) => void, close: () => void = () => undefined): () => void {
    const s = { principal, send, close };
    this.subs.add(s);
    return () => this.subs.delete(s);
  }

  get subscribers(): number {
    return this.subs.size;
  }

  /** One look at the store (the timer calls it; tests may call it directly). */
  poll(): void {
    for (const s of this.subs) {
      if (this.o.isCurrent?.(s.principal) === false) {
        this.subs.delete(s);
        s.close();
      }
    }
    const since = this.cursor - OVERLAP_MS;
    if (this.subs.size === 0) {
      this.cursor = Math.max(this.cursor, this.now - OVERLAP_MS);
      return;
    }
    let rows: { incident: Incident; squad?: string }[];
    try {
      rows = this.o.store.search({ updatedSinceMs: since, oldestFirst: true, limit: 1000 });
    } catch (e) {
      this.o.log.warn({ err: e }, 'console: the incident feed could not read the store; trying again');
      return;
    }
    for (const { incident, squad } of rows) {
      const key = `${incident.id}@${incident.updatedMs}`;
      if (this.sent.has(key)) continue;
      this.sent.set(key, incident.updatedMs);
      this.cursor = Math.max(this.cursor, incident.updatedMs);
      const created = !this.announced.has(incident.id) && (incident.createdMs ?? -Infinity) >= since;
      if (created) this.remember(incident.id);
      const change = created ? 'created' : 'updated';
      for (const s of this.subs) {
        if (!maySee(s.principal, squad)) continue;
        try {
          s.send({ type: 'incident', change, incident: this.o.view(incident, s.principal) });
        } catch (e) {
          this.o.log.debug({ err: e }, 'console: a feed subscriber could not be sent to');
        }
      }
    }
    for (const [k, ms] of this.sent) if (ms < this.cursor - OVERLAP_MS) this.sent.delete(k);
  }

  private remember(id: string): void {
    this.announced.add(id);
    if (this.announced.size > 10_000) this.announced.delete(this.announced.values().next().value!);
  }

  readonly stop = once(async () => {
    clearInterval(this.timer);
    this.subs.clear();
  });
}
