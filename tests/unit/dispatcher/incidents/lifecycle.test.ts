import { describe, expect, it } from 'vitest';
import { applyStatus, markDispatched, nextState, operatorClose, operatorReject, reopenForRedispatch } from '../../../../dispatcher/incidents/lifecycle.js';
import { incidentFromHit } from '../../../../dispatcher/incidents/match.js';
import type { Incident, IncidentState, TicketStatus } from '../../../../dispatcher/incidents/types.js';
import { hit, T } from '../../../helpers/factories.js';

describe('incident lifecycle', () => {
  it.each<[IncidentState, TicketStatus, IncidentState | undefined]>([
    ['confirmed', 'accepted', 'acknowledged'],
    ['dispatched', 'accepted', 'acknowledged'],
    ['dispatched', 'on_site', 'on_site'],
    ['acknowledged', 'on_site', 'on_site'], // was 'no change' yet stored: now a state of its own
    ['on_site', 'accepted', undefined],
    ['on_site', 'on_site', undefined],
    ['acknowledged', 'resolved', 'resolved'],
    ['on_site', 'resolved', 'resolved'],
    ['on_site', 'rejected_false_positive', 'rejected'],
    ['dispatched', 'rejected_false_positive', 'rejected'],
    ['resolved', 'accepted', undefined], // late or repeated: never backwards
    ['resolved', 'rejected_false_positive', undefined],
    ['rejected', 'resolved', undefined],
  ])('%s + %s → %s', (from, status, to) => {
    expect(nextState(from, status)).toBe(to);
  });

  it('closing records when; dispatching only moves a confirmed incident', () => {
    const inc = incidentFromHit('i', hit(0), T);
    const sent = markDispatched(inc, T + 1);
    expect(sent.state).toBe('dispatched');
    expect(markDispatched({ ...inc, state: 'acknowledged' }, T + 1).state).toBe('acknowledged');
    const done = applyStatus(sent, 'resolved', T + 500, T + 600)!;
    expect(done).toMatchObject({ state: 'resolved', closedMs: T + 500, updatedMs: T + 600 });
    expect(applyStatus(done, 'resolved', T + 700, T + 800)).toBeUndefined();
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
