import { describe, expect, it } from 'vitest';
import { IncidentFeed, type FeedMessage } from '../../../console/events.js';
import type { IncidentQuery } from '../../../dispatcher/incidents/store.js';
import type { Incident } from '../../../dispatcher/incidents/types.js';
import { incident } from '../../helpers/factories.js';
import { memoryLogger } from '../../helpers/pipeline.js';

/** A store of incidents in memory: search honours updatedSinceMs, as the real one does. */
function fakeStore(rows: { incident: Incident; squad?: string }[]) {
  return {
    rows,
    search: (q: IncidentQuery) => rows.filter((r) => r.incident.updatedMs >= (q.updatedSinceMs ?? 0)).sort((a, b) => a.incident.updatedMs - b.incident.updatedMs),
  };
}
const inc = (id: string, createdMs: number, updatedMs = createdMs) => incident({ id, createdMs, updatedMs });

function setup() {
  let now = 10_000;
  const store = fakeStore([]);
  const feed = new IncidentFeed({ store, view: (i) => ({ id: i.id, updatedMs: i.updatedMs }), log: memoryLogger().log, now: () => now, intervalMs: 1e9 });
  const got: Record<string, FeedMessage[]> = { command: [], sq1: [], sq2: [] };
  feed.subscribe({ name: 'c', role: 'command' }, (m) => got.command!.push(m));
  feed.subscribe({ name: 's1', role: 'squad', squad: 'sq-1' }, (m) => got.sq1!.push(m));
  feed.subscribe({ name: 's2', role: 'squad', squad: 'sq-2' }, (m) => got.sq2!.push(m));
  return { feed, store, got, tick: (ms: number) => (now += ms) };
}

describe('IncidentFeed', () => {
  it('pushes a new incident once as created, each later change once as updated, only to those allowed', async () => {
    const { feed, store, got, tick } = setup();
    await feed.start();
    store.rows.push({ incident: inc('a', 10_100) });
    tick(250);
    feed.poll();
    feed.poll(); // nothing new: nothing sent twice
    expect(got.command).toEqual([{ type: 'incident', change: 'created', incident: { id: 'a', updatedMs: 10_100 } }]);
    expect(got.sq1).toEqual([]); // no ticket yet: no squad sees it
    store.rows[0] = { incident: inc('a', 10_100, 10_300), squad: 'sq-1' };
    tick(250);
    feed.poll();
    expect(got.command!.map((m) => m.change)).toEqual(['created', 'updated']);
    expect(got.sq1!.map((m) => m.change)).toEqual(['updated']);
    expect(got.sq2).toEqual([]);
    await feed.stop();
    await feed.stop();
  });

  it('does not replay history to a new console, and catches a change stamped slightly in the past', async () => {
    const { feed, store, got, tick } = setup();
    store.rows.push({ incident: inc('old', 1_000) });
    await feed.start();
    tick(250);
    feed.poll();
    expect(got.command).toEqual([]);
    // another process's clock is 1.5 s behind ours
    store.rows.push({ incident: inc('late', 8_900) });
    tick(250);
    feed.poll();
    expect(got.command!.map((m) => (m.incident as { id: string }).id)).toEqual(['late']);
  });

  it('keeps going when a subscriber throws or the store fails once', async () => {
    const { feed, store, got, tick } = setup();
    feed.subscribe({ name: 'bad', role: 'admin' }, () => {
      throw new Error('socket gone');
    });
    await feed.start();
    const search = store.search;
    store.search = () => {
      throw new Error('SQLITE_BUSY');
    };
    feed.poll();
    store.search = search;
    store.rows.push({ incident: inc('b', 10_200) });
    tick(250);
    feed.poll();
    expect(got.command).toHaveLength(1);
  });
});

describe('IncidentFeed and revoked tokens', () => {
  it('closes a subscriber whose token a reload removed, and sends it nothing more', async () => {
    const store = fakeStore([]);
    let revoked = false;
    const feed = new IncidentFeed({ store, view: (i) => i.id, isCurrent: (p) => !(revoked && p.name === 'gone'), log: memoryLogger().log, now: () => 10_000, intervalMs: 1e9 });
    const got: string[] = [];
    let closed = 0;
    feed.subscribe({ name: 'gone', role: 'squad', squad: 'sq-1' }, (m) => got.push(String(m.incident)), () => closed++);
    await feed.start();
    revoked = true;
    store.rows.push({ incident: inc('x', 10_100), squad: 'sq-1' });
    feed.poll();
    expect(closed).toBe(1);
    expect(got).toEqual([]);
    expect(feed.subscribers).toBe(0);
  });
});
