import { describe, expect, it } from 'vitest';
import { IncidentStore } from '../../../../dispatcher/incidents/store.js';
import { operatorClose, operatorReject, reopenForRedispatch } from '../../../../dispatcher/incidents/lifecycle.js';
import type { Incident } from '../../../../dispatcher/incidents/types.js';
import { hit, MIN, T } from '../../../helpers/factories.js';

// What the console asks of the store: filtered search, operator actions, re-dispatch, history, scoreboard.
const P = { cooldownMs: 30 * MIN, sameSpotMeters: 25 };
const fresh = () => {
  let n = 0;
  const s = new IncidentStore(':memory:', () => `inc-${++n}`);
  s.start();
  return s;
};
/** Two incidents: inc-1 (stacking, cam-a/z1, ticket for sq-1), inc-2 (stall, cam-b/z2, ticket for sq-2). */
const seeded = () => {
  const s = fresh();
  s.recordHit(hit(0), P, T);
  s.addTicket({ incidentId: 'inc-1', squad: 'sq-1', ticket: { squad: { id: 'sq-1' } }, topic: 'tickets' }, T);
  s.recordHit(hit(5, { type: 'stall', cameraId: 'cam-b', zoneId: 'z2', objects: [{ trackId: 2, semantic: 'stall', detector: 'yolox-nano-416' }] }), P, T + 5 * MIN);
  s.addTicket({ incidentId: 'inc-2', squad: 'sq-2', ticket: { squad: { id: 'sq-2' } }, topic: 'tickets' }, T + 5 * MIN);
  return s;
};
const ids = (rows: { incident: Incident }[]) => rows.map((r) => r.incident.id);

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
    expect(ids(seeded().search(q))).toEqual(want);
  });

  it('returns each incident with its ticket\'s squad, and finds changes since a time', () => {
    const s = seeded();
    expect(s.search({ ids: ['inc-1'] })[0]!.squad).toBe('sq-1');
    s.touch('inc-1', T + 10 * MIN);
    expect(ids(s.search({ updatedSinceMs: T + 10 * MIN }))).toEqual(['inc-1']);
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

describe('operator lifecycle', () => {
  const inc = { id: 'i', state: 'dispatched', updatedMs: 0 } as Incident;
  it.each([
    ['confirmed', true, true],
    ['dispatched', true, true],
    ['acknowledged', true, true],
    ['resolved', true, false],
    ['rejected', false, false],
  ] as const)('%s: false positive %s, close %s', (state, reject, close) => {
    expect(operatorReject({ ...inc, state }, 'x', undefined, 1) !== undefined).toBe(reject);
    expect(operatorClose({ ...inc, state }, 'x', undefined, 1) !== undefined).toBe(close);
  });
  it('reopening keeps the first closing out of the record and counts the re-dispatch', () => {
    const closed = operatorClose(inc, 'x', 'n', 5)!;
    expect(reopenForRedispatch(closed, 6)).toEqual({ id: 'i', state: 'confirmed', updatedMs: 6, redispatches: 1 });
  });
});
