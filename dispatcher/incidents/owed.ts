import type { Incident } from './types.js';

/**
 * Evidence work an incident is owed, recorded in the store in the same transaction as the incident change that
 * makes it owed, so a crash can never forget it: the full-resolution package that follows the instant snapshot
 * (`full`), and the package for a later sighting (`update`). After a restart the dispatch stage finishes what
 * is still `owed` while the ring holds the moments, or marks it `lost` — visibly: a metric, the incident's
 * `evidenceLost` (the console shows it), its history, and a signed marker revision `evidence verify` reports.
 */
export interface OwedEvidence {
  /** Row id: the order the work was owed in (revisions are sealed in that order). */
  id: number;
  incidentId: string;
  kind: 'full' | 'update';
  /** The sighting the package shows as "latest" (the hit that made it owed). */
  latestMs: number;
  createdMs: number;
}

export type OwedState = 'owed' | 'done' | 'lost';

/** What the console and the ticket history say about a lost package. */
export interface LostEvidence {
  kind: OwedEvidence['kind'];
  /** The revision the signed lost-marker was sealed as, when it could be written. */
  revision?: number;
  reason: string;
  atMs: number;
}

/**
 * An open incident seen again owes a new revision (the latest still and a clip around it) at most once per
 * `everyMs` of the violation's time, counted from its confirmation: pure, so the store decides it inside the
 * hit's transaction.
 */
export function updateDue(previous: Pick<Incident, 'confirmedMs' | 'lastSeenMs'>, next: Pick<Incident, 'lastSeenMs'>, everyMs: number): boolean {
  const bucket = (ms: number) => Math.floor((ms - previous.confirmedMs) / everyMs);
  return bucket(next.lastSeenMs) > bucket(previous.lastSeenMs);
}
