import { describe, expect, it } from 'vitest';
import { updateDue } from '../../../../dispatcher/incidents/owed.js';
import { MIN, T } from '../../../helpers/factories.js';

describe('updateDue', () => {
  // confirmed at T; one update per minute of the violation, counted from the confirmation
  it.each<[string, number, number, boolean]>([
    ['within the first minute', 0.2, 0.9, false],
    ['crossing into the second minute', 0.9, 1.1, true],
    ['within the second minute', 1.1, 1.9, false],
    ['skipping minutes owes one update', 1.1, 4.5, true],
    ['exactly at a minute boundary', 0.99, 1, true],
  ])('%s', (_what, prevMin, nextMin, due) => {
    expect(updateDue({ confirmedMs: T, lastSeenMs: T + prevMin * MIN }, { lastSeenMs: T + nextMin * MIN }, MIN)).toBe(due);
  });
});
