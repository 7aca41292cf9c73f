import { describe, expect, it } from 'vitest';
import { applyStatus, markDispatched, nextState } from '../../../../dispatcher/incidents/lifecycle.js';
import { incidentFromHit } from '../../../../dispatcher/incidents/match.js';
import type { IncidentState, TicketStatus } from '../../../../dispatcher/incidents/types.js';
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
