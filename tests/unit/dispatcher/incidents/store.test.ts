import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { IncidentStore } from '../../../../dispatcher/incidents/store.js';
import { hit, MIN, T } from './fixtures.js';

const P = { cooldownMs: 30 * MIN, sameSpotMeters: 25 };
const ids = () => {
  let n = 0;
  return () => `inc-${++n}`;
};
const fresh = (file = ':memory:') => {
  const s = new IncidentStore(file, ids());
  s.start();
  return s;
};

describe('IncidentStore', () => {
  it('repeated sightings of one violation make one incident and one ticket; a recurrence after the cool-down makes a second', () => {
    const s = fresh();
    expect(s.recordHit(hit(0), P, T).decision).toEqual({ kind: 'create' });
    expect(s.addTicket({ incidentId: 'inc-1', squad: 'sq-1', ticket: { id: 'inc-1' }, topic: 'tickets' }, T)).toBe(true);
    expect(s.addTicket({ incidentId: 'inc-1', squad: 'sq-1', ticket: { id: 'inc-1' }, topic: 'tickets' }, T)).toBe(false);
    for (const m of [1, 2, 3]) expect(s.recordHit(hit(m), P, T + m * MIN).decision).toEqual({ kind: 'extend', incidentId: 'inc-1' });
    expect(s.get('inc-1')).toMatchObject({ hits: 4, state: 'confirmed' });
    expect(s.unsent().map((r) => r.key)).toEqual(['sq-1']);

    s.markSent(s.unsent(), T + 4 * MIN);
    expect(s.get('inc-1')!.state).toBe('dispatched');
    expect(s.unsent()).toEqual([]);
    expect(s.applyStatus({ ticketId: 'inc-1', status: 'resolved', atMs: T + 10 * MIN }, T + 10 * MIN)).toBe('applied');
    expect(s.recordHit(hit(20), P, T + 20 * MIN).decision.kind).toBe('suppress');
    const again = s.recordHit(hit(45), P, T + 45 * MIN);
    expect(again.decision).toEqual({ kind: 'create', recurrenceOf: 'inc-1' });
    expect(again.incident).toMatchObject({ id: 'inc-2', recurrenceOf: 'inc-1', state: 'confirmed' });
    expect(s.priorOffences(again.incident!, T - 365 * 24 * 60 * MIN)).toBe(1);
    s.stop();
    s.stop(); // idempotent
  });

  it('status reports are idempotent, never move backwards, and an unknown ticket is refused', () => {
    const s = fresh();
    s.recordHit(hit(0), P, T);
    expect(s.applyStatus({ ticketId: 'inc-1', status: 'accepted', atMs: T + 1 }, T + 1)).toBe('applied');
    expect(s.applyStatus({ ticketId: 'inc-1', status: 'accepted', atMs: T + 1 }, T + 2)).toBe('duplicate');
    expect(s.applyStatus({ ticketId: 'inc-1', status: 'on_site', atMs: T + 3 }, T + 3)).toBe('no_change');
    expect(s.applyStatus({ ticketId: 'nope', status: 'accepted', atMs: T }, T)).toBe('unknown');
    expect(s.applyStatus({ ticketId: 'inc-1', status: 'rejected_false_positive', atMs: T + 4 }, T + 4)).toBe('applied');
    expect(s.get('inc-1')!.state).toBe('rejected');
    expect(s.falsePositives()).toEqual([{ detector: 'static-object', cameraId: 'cam-a', zoneId: 'z1', count: 1 }]);
    // a rejected incident is not a prior offence
    const next = s.recordHit(hit(60), P, T + 60 * MIN).incident!;
    expect(s.priorOffences(next, T - MIN)).toBe(0);
  });

  it('keeps everything across a restart (WAL on disk), and lists confirmed incidents still without a ticket', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sw-store-')), 'sub', 'streetwatch.db');
    const a = fresh(file);
    a.recordHit(hit(0), P, T);
    a.recordHit(hit(0, {}, [0.6, 0.6, 0.7, 0.8]), P, T);
    a.addTicket({ incidentId: 'inc-1', squad: 'sq-1', ticket: { id: 'inc-1' }, topic: 'tickets' }, T);
    a.stop();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    const b = new IncidentStore(file, () => 'inc-x');
    b.start();
    expect(b.list().map((i) => i.id).sort()).toEqual(['inc-1', 'inc-2']);
    expect(b.withoutTicket().map((i) => i.id)).toEqual(['inc-2']);
    expect(b.unsent().map((r) => r.headers['ticket-id'])).toEqual(['inc-1']);
    expect(b.ticket('inc-1')).toMatchObject({ squad: 'sq-1', ticket: { id: 'inc-1' } });
    b.stop();
  });

  it('says which file it cannot open', () => {
    const notADir = join(mkdtempSync(join(tmpdir(), 'sw-store-')), 'plain-file');
    writeFileSync(notADir, 'x');
    const s = new IncidentStore(join(notADir, 'x.db'), ids());
    let err: unknown;
    try {
      s.start();
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'STORE_FAILED' });
    expect((err as Error).message).toContain(join(notADir, 'x.db'));
  });
});
