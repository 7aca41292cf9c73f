import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../../core/log.js';
import { StreetwatchError } from '../../../../core/errors.js';
import { IncidentStore } from '../../../../dispatcher/incidents/store.js';
import { OutboxRelay } from '../../../../dispatcher/outbox/relay.js';
import { MemoryTicketSink } from '../../../../dispatcher/sink/memory.js';
import { hit, incidentStore, MATCH_PARAMS as P, T } from '../../../helpers/factories.js';
import { waitFor } from '../../../helpers/wait.js';

const log = createLogger({ level: 'silent' });

function storeWithTickets(n: number): IncidentStore {
  const s = incidentStore();
  for (let i = 0; i < n; i++) {
    const { incident } = s.recordHit(hit(i, {}, [0.05 + i * 0.2, 0.6, 0.1 + i * 0.2, 0.8]), P, T + i);
    s.addTicket({ incidentId: incident!.id, squad: `sq-${i % 2}`, ticket: { id: incident!.id }, topic: 'tickets' }, T + i);
  }
  return s;
}

describe('OutboxRelay', () => {
  it('publishes unsent rows in order, marks them sent after the ack, and dispatches their incidents', async () => {
    const store = storeWithTickets(3);
    const sink = new MemoryTicketSink();
    await sink.start();
    const latencies: number[] = [];
    const relay = new OutboxRelay({ store, sink, log, idleMs: 10, now: () => T + 100, onSent: (_r, l) => latencies.push(...l) });
    await relay.start();
    await waitFor(() => sink.messages.length === 3, 3000, 'three messages');
    await relay.stop();
    await relay.stop();
    expect(sink.messages.map((m) => [m.key, m.headers?.['ticket-id']])).toEqual([['sq-0', 'inc-1'], ['sq-1', 'inc-2'], ['sq-0', 'inc-3']]);
    expect(store.unsent(10)).toEqual([]);
    expect(store.list().map((i) => i.state)).toEqual(['dispatched', 'dispatched', 'dispatched']);
    expect(latencies).toEqual([100, 99, 98]);
  });

  it('keeps rows through broker failures, retries with backoff, and delivers each once when it is back', async () => {
    const store = storeWithTickets(2);
    const sink = new MemoryTicketSink();
    await sink.start();
    for (let i = 0; i < 3; i++) sink.failNext(new StreetwatchError('KAFKA_PUBLISH_FAILED', 'broker down', { retriable: true }));
    const relay = new OutboxRelay({ store, sink, log, idleMs: 10, backoff: { initialMs: 5, maxMs: 20, factor: 2, jitter: 0 } });
    await relay.start();
    await waitFor(() => sink.messages.length === 2, 3000, 'two messages');
    // a ticket written while running goes out too, woken rather than polled
    const { incident } = store.recordHit(hit(9, {}, [0.8, 0.6, 0.9, 0.8]), P, T + 9);
    store.addTicket({ incidentId: incident!.id, squad: 'sq-9', ticket: {}, topic: 'tickets' }, T + 9);
    relay.wake();
    await waitFor(() => sink.messages.length === 3, 3000, 'three messages');
    await relay.stop();
    expect(sink.messages.map((m) => m.headers?.['ticket-id'])).toEqual(['inc-1', 'inc-2', 'inc-3']);
  });

  it('stops promptly while waiting out a backoff, leaving the rows unsent for the next start', async () => {
    const store = storeWithTickets(1);
    const sink = new MemoryTicketSink();
    await sink.start();
    sink.failNext(new Error('down'));
    const relay = new OutboxRelay({ store, sink, log, backoff: { initialMs: 60_000, maxMs: 60_000, factor: 2, jitter: 0 } });
    await relay.start();
    await waitFor(() => store.unsent(1)[0]!.attempts === 1, 3000, 'one failed attempt');
    // stop() must not wait out the retry backoff (a minute): it wins a race against a few seconds
    const first = await Promise.race([relay.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still backing off'), 5000).unref())]);
    expect(first).toBe('stopped');
    expect(store.unsent(10).length).toBe(1);
  });
});
