import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { IncidentStore } from '../../../../dispatcher/incidents/store.js';
import type { Incident, TicketStatus } from '../../../../dispatcher/incidents/types.js';
import { hit, incidentStore as fresh, MATCH_PARAMS as P, MIN, T } from '../../../helpers/factories.js';

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
    expect(s.applyStatus({ ticketId: 'inc-1', status: 'resolved', atMs: T + 10 * MIN, squad: 'sq-1' }, T + 10 * MIN)).toBe('applied');
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
    s.addTicket({ incidentId: 'inc-1', squad: 'sq-1', ticket: { id: 'inc-1' }, topic: 'tickets' }, T);
    const report = (status: TicketStatus, atMs: number, squad = 'sq-1') => s.applyStatus({ ticketId: 'inc-1', status, atMs, squad }, atMs);
    expect(report('accepted', T + 1)).toBe('applied');
    expect(report('accepted', T + 1)).toBe('duplicate');
    expect(report('on_site', T + 3)).toBe('applied');
    expect(report('accepted', T + 5)).toMatchObject({ refused: 'not_forward' });
    expect(s.applyStatus({ ticketId: 'nope', status: 'accepted', atMs: T, squad: 'sq-1' }, T)).toMatchObject({ refused: 'unknown_ticket' });
    expect(report('rejected_false_positive', T + 4)).toBe('applied');
    expect(s.get('inc-1')!.state).toBe('rejected');
    expect(s.falsePositives()).toEqual([{ detector: 'static-object', cameraId: 'cam-a', zoneId: 'z1', count: 1 }]);
    // the history holds what was applied, never a refused report
    expect(s.history('inc-1').filter((h) => h.by?.startsWith('squad:')).map((h) => [h.kind, h.atMs - T])).toEqual([
      ['accepted', 1],
      ['on_site', 3],
      ['rejected_false_positive', 4],
    ]);
    // a rejected incident is not a prior offence
    const next = s.recordHit(hit(60), P, T + 60 * MIN).incident!;
    expect(s.priorOffences(next, T - MIN)).toBe(0);
  });

  it('refuses a report from a squad that does not hold the ticket, and one for an incident without a ticket: nothing is written', () => {
    const s = fresh();
    s.recordHit(hit(0), P, T);
    // no ticket yet: nobody may report on it
    expect(s.applyStatus({ ticketId: 'inc-1', status: 'accepted', atMs: T + 1, squad: 'sq-1' }, T + 1)).toMatchObject({ refused: 'unknown_ticket' });
    s.addTicket({ incidentId: 'inc-1', squad: 'sq-1', ticket: { id: 'inc-1' }, topic: 'tickets' }, T);
    expect(s.applyStatus({ ticketId: 'inc-1', status: 'rejected_false_positive', atMs: T + 2, squad: 'someone-else' }, T + 2)).toMatchObject({ refused: 'not_ticket_holder' });
    expect(s.get('inc-1')!.state).toBe('confirmed');
    expect(s.falsePositives()).toEqual([]);
    expect(s.history('inc-1').map((h) => h.kind)).toEqual(['ticket_issued']);
    // after a re-dispatch to sq-2, the old holder is refused and the new one is heard
    s.redispatch('inc-1', { squad: 'sq-2', ticket: { id: 'inc-1' }, topic: 'tickets' }, 'cmd', undefined, T + 3);
    expect(s.applyStatus({ ticketId: 'inc-1', status: 'accepted', atMs: T + 4, squad: 'sq-1' }, T + 4)).toMatchObject({ refused: 'not_ticket_holder' });
    expect(s.applyStatus({ ticketId: 'inc-1', status: 'accepted', atMs: T + 5, squad: 'sq-2' }, T + 5)).toBe('applied');
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

  it('records the evidence a hit makes owed in the hit\'s own transaction, and keeps it owed across a restart until done or lost', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sw-store-')), 'streetwatch.db');
    const a = fresh(file);
    const E = { ...P, evidenceEveryMs: MIN };
    expect(a.recordHit(hit(0), E, T).owed).toMatchObject({ incidentId: 'inc-1', kind: 'full', latestMs: T });
    expect(a.recordHit(hit(0.5), E, T + 0.5 * MIN).owed).toBeUndefined(); // the same minute of the violation
    expect(a.recordHit(hit(1.2), E, T + 1.2 * MIN).owed).toMatchObject({ kind: 'update', latestMs: T + 1.2 * MIN });
    expect(a.recordHit(hit(1.5), P, T + 1.5 * MIN).owed).toBeUndefined(); // no cadence given: no update owed
    a.stop(); // a crash: nothing was packaged
    const b = fresh(file);
    const owed = b.owedEvidence();
    expect(owed.map((o) => [o.incidentId, o.kind])).toEqual([['inc-1', 'full'], ['inc-1', 'update']]);
    // the ring of its camera is pinned from the incident's first sighting while the full package is owed
    const firstSeen = b.get('inc-1')!.firstSeenMs;
    expect(b.owedEvidenceFromByCamera()).toEqual(new Map([[b.get('inc-1')!.cameraId, Math.min(firstSeen, T)]]));
    expect(b.owedCount()).toBe(2);
    b.evidenceDone(owed[0]!.id, 2, T + 2 * MIN);
    b.evidenceLost(owed[1]!, 'the ring no longer holds it', T + 3 * MIN, 3);
    b.evidenceLost(owed[1]!, 'again', T + 4 * MIN); // already decided: nothing changes
    expect(b.owedEvidence()).toEqual([]);
    expect(b.owedEvidenceFromByCamera().size).toBe(0); // nothing owed: nothing pinned
    expect(b.get('inc-1')!.evidenceLost).toEqual([{ kind: 'update', revision: 3, reason: 'the ring no longer holds it', atMs: T + 3 * MIN }]);
    expect(b.history('inc-1').filter((h) => h.kind === 'evidence_lost')).toHaveLength(1);
    b.stop();
  });

  it('says which file it cannot open', () => {
    const notADir = join(mkdtempSync(join(tmpdir(), 'sw-store-')), 'plain-file');
    writeFileSync(notADir, 'x');
    const s = new IncidentStore(join(notADir, 'x.db'), () => 'inc-1');
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

// What the console asks of the store: filtered search, operator actions, re-dispatch, history, scoreboard.
/** Two incidents: inc-1 (stacking, cam-a/z1, ticket for sq-1), inc-2 (stall, cam-b/z2, ticket for sq-2). */
const seeded = () => {
  const s = fresh();
  s.recordHit(hit(0), P, T);
  s.addTicket({ incidentId: 'inc-1', squad: 'sq-1', ticket: { squad: { id: 'sq-1' } }, topic: 'tickets' }, T);
  s.recordHit(hit(5, { type: 'stall', cameraId: 'cam-b', zoneId: 'z2', objects: [{ trackId: 2, semantic: 'stall', detector: 'yolox-nano-416' }] }), P, T + 5 * MIN);
  s.addTicket({ incidentId: 'inc-2', squad: 'sq-2', ticket: { squad: { id: 'sq-2' } }, topic: 'tickets' }, T + 5 * MIN);
  return s;
};
const idsOf = (rows: { incident: Incident }[]) => rows.map((r) => r.incident.id);

describe('IncidentStore for the console', () => {
  it.each([
    [{}, ['inc-2', 'inc-1']],
    [{ types: ['stall'] }, ['inc-2']],
    [{ states: ['confirmed'] }, ['inc-2', 'inc-1']],
    [{ states: ['rejected'] }, []],
    [{ cameras: ['cam-a'] }, ['inc-1']],
    [{ zones: ['z2'] }, ['inc-2']],
    [{ squads: ['sq-1'] }, ['inc-1']],
    [{ fromMs: T + MIN }, ['inc-2']],
    [{ toMs: T + MIN }, ['inc-1']],
    [{ types: ['stall'], squads: ['sq-1'] }, []],
    [{ oldestFirst: true }, ['inc-1', 'inc-2']],
    [{ limit: 1 }, ['inc-2']],
  ])('search %j', (q, want) => {
    expect(idsOf(seeded().search(q))).toEqual(want);
  });

  it('returns each incident with its ticket\'s squad, and finds changes since a time', () => {
    const s = seeded();
    expect(s.search({ ids: ['inc-1'] })[0]!.squad).toBe('sq-1');
    s.touch('inc-1', T + 10 * MIN);
    expect(idsOf(s.search({ updatedSinceMs: T + 10 * MIN }))).toEqual(['inc-1']);
  });

  it('operator false positive: rejected, counted, recorded; a second mark changes nothing', () => {
    const s = seeded();
    const r = s.operatorAction('inc-1', 'false_positive', '值班长', '垃圾桶', T + MIN);
    expect(r).toMatchObject({ state: 'rejected', closedMs: T + MIN, resolution: { status: 'rejected_false_positive', by: '值班长', note: '垃圾桶' } });
    expect(s.operatorAction('inc-1', 'false_positive', '值班长', undefined, T + 2 * MIN)).toBe('no_change');
    expect(s.operatorAction('inc-9', 'close', 'x', undefined, T)).toBe('not_found');
    expect(s.falsePositives()).toEqual([{ detector: 'static-object', cameraId: 'cam-a', zoneId: 'z1', count: 1 }]);
    expect(s.history('inc-1').map((h) => h.kind)).toEqual(['ticket_issued', 'false_positive']);
  });

  it('operator close only closes open incidents', () => {
    const s = seeded();
    expect(s.operatorAction('inc-2', 'close', '值班长', '电话劝离', T + 6 * MIN)).toMatchObject({ state: 'resolved', resolution: { status: 'closed' } });
    expect(s.operatorAction('inc-2', 'close', '值班长', undefined, T + 7 * MIN)).toBe('no_change');
  });

  it('re-dispatch replaces the ticket, writes a new outbox row and reopens the incident', () => {
    const s = seeded();
    s.markSent(s.unsent(), T + MIN);
    s.applyStatus({ ticketId: 'inc-1', status: 'rejected_false_positive', atMs: T + 2 * MIN, squad: 'sq-1' }, T + 2 * MIN);
    expect(s.get('inc-1')).toMatchObject({ state: 'rejected', resolution: { by: 'squad:sq-1' } });
    const r = s.redispatch('inc-1', { squad: 'sq-2', ticket: { squad: { id: 'sq-2' } }, topic: 'tickets' }, '值班长', undefined, T + 3 * MIN);
    expect(r).toMatchObject({ state: 'confirmed', redispatches: 1 });
    expect((r as Incident).resolution).toBeUndefined();
    expect(s.ticket('inc-1')).toMatchObject({ squad: 'sq-2', ticket: { squad: { id: 'sq-2' } } });
    expect(s.unsent()).toEqual([expect.objectContaining({ key: 'sq-2', headers: expect.objectContaining({ 'ticket-id': 'inc-1', redispatch: '1' }) })]);
    s.markSent(s.unsent(), T + 4 * MIN);
    expect(s.get('inc-1')!.state).toBe('dispatched');
    // the squad's reports count again on the reopened incident
    expect(s.applyStatus({ ticketId: 'inc-1', status: 'resolved', atMs: T + 5 * MIN, squad: 'sq-2' }, T + 5 * MIN)).toBe('applied');
    expect(s.history('inc-1').map((h) => h.kind)).toEqual(['ticket_issued', 'ticket_sent', 'rejected_false_positive', 'redispatched', 'ticket_sent', 'resolved']);
  });

  it('a status message in the outbox does not mark its ticket dispatched', () => {
    const s = seeded();
    s.markSent(s.unsent(), T + MIN);
    s.operatorAction('inc-2', 'close', 'x', undefined, T + 2 * MIN);
    s.enqueueMessage({ topic: 'status', key: 'sq-1', value: '{}', headers: { kind: 'ticket-status' } }, T + 2 * MIN);
    s.markSent(s.unsent(), T + 3 * MIN);
    expect(s.unsent()).toEqual([]);
    expect(s.history('inc-1').filter((h) => h.kind === 'ticket_sent')).toHaveLength(1);
  });

  it('scores detectors per zone: confirmed by squads, false positives, pending', () => {
    const s = seeded();
    s.applyStatus({ ticketId: 'inc-2', status: 'accepted', atMs: T + 6 * MIN, squad: 'sq-2' }, T + 6 * MIN);
    s.recordHit(hit(40, {}, [0.6, 0.1, 0.7, 0.2]), P, T + 40 * MIN);
    s.operatorAction('inc-3', 'false_positive', 'x', undefined, T + 41 * MIN);
    expect(s.scoreboard(T - MIN, T + 60 * MIN)).toEqual([
      { detector: 'static-object', cameraId: 'cam-a', zoneId: 'z1', confirmed: 0, falsePositive: 1, pending: 1 },
      { detector: 'yolox-nano-416', cameraId: 'cam-b', zoneId: 'z2', confirmed: 1, falsePositive: 0, pending: 0 },
    ]);
    expect(s.scoreboard(T + 30 * MIN, T + 60 * MIN)).toEqual([{ detector: 'static-object', cameraId: 'cam-a', zoneId: 'z1', confirmed: 0, falsePositive: 1, pending: 0 }]);
    expect(s.analyticsRows(T - MIN, T + 60 * MIN).map((r) => r.type).sort()).toEqual(['stacking', 'stall']); // the false positive is not a hotspot
    expect(s.openByCamera().get('cam-a')).toEqual({ open: 1, total: 2 });
  });
});
