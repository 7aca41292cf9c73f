import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../core/log.js';
import { CHAIN_FILE, signRetired } from '../../../../dispatcher/evidence/chain.js';
import { canonicalJson } from '../../../../dispatcher/evidence/manifest.js';
import { applyRetention, selectForDeletion, type RetentionCandidate } from '../../../../dispatcher/evidence/retention.js';
import { verifyEvidence } from '../../../../dispatcher/evidence/verify.js';
import { addPackage, cleanup, KEYS, OTHER_KEYS, tempDir } from '../../../helpers/fixtures/evidence.js';

afterEach(cleanup);
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 27);
const log = createLogger({ level: 'silent' });

const pkg = (dir: string, ageDays: number, bytes: number, acknowledged = true): RetentionCandidate => ({ dir, incidentId: dir.split('/')[0]!, createdMs: NOW - ageDays * DAY, bytes, acknowledged });

describe('selectForDeletion', () => {
  const table: { name: string; packages: RetentionCandidate[]; policy: { retentionDays: number; quotaBytes: number }; expected: string[] }[] = [
    { name: 'nothing old, under quota', packages: [pkg('a/r1', 1, 10), pkg('b/r1', 2, 10)], policy: { retentionDays: 30, quotaBytes: 100 }, expected: [] },
    { name: 'older than retention goes, oldest first', packages: [pkg('a/r1', 40, 10), pkg('b/r1', 31, 10), pkg('c/r1', 29, 10)], policy: { retentionDays: 30, quotaBytes: 1000 }, expected: ['a/r1', 'b/r1'] },
    { name: 'unacknowledged is never deleted, however old', packages: [pkg('a/r1', 400, 10, false), pkg('b/r1', 40, 10)], policy: { retentionDays: 30, quotaBytes: 1000 }, expected: ['b/r1'] },
    { name: 'over quota: oldest acknowledged until under', packages: [pkg('a/r1', 5, 40), pkg('b/r1', 4, 40), pkg('c/r1', 3, 40), pkg('d/r1', 1, 40)], policy: { retentionDays: 30, quotaBytes: 100 }, expected: ['a/r1', 'b/r1'] },
    { name: 'over quota skips unacknowledged ones', packages: [pkg('a/r1', 5, 40, false), pkg('b/r1', 4, 40), pkg('c/r1', 3, 40)], policy: { retentionDays: 30, quotaBytes: 80 }, expected: ['b/r1'] },
    { name: 'over quota with only unacknowledged left: deletes nothing more', packages: [pkg('a/r1', 5, 400, false), pkg('b/r1', 4, 40)], policy: { retentionDays: 30, quotaBytes: 100 }, expected: ['b/r1'] },
    { name: 'expired ones count toward the quota already freed', packages: [pkg('a/r1', 50, 60), pkg('b/r1', 4, 40), pkg('c/r1', 3, 40)], policy: { retentionDays: 30, quotaBytes: 80 }, expected: ['a/r1'] },
    { name: 'exactly at quota is fine', packages: [pkg('a/r1', 2, 50), pkg('b/r1', 1, 50)], policy: { retentionDays: 30, quotaBytes: 100 }, expected: [] },
    { name: 'retention 0 days deletes every acknowledged one', packages: [pkg('a/r1', 0.01, 1), pkg('b/r1', 0.02, 1, false)], policy: { retentionDays: 0, quotaBytes: 100 }, expected: ['a/r1'] },
  ];
  for (const t of table) it(t.name, () => expect(selectForDeletion(t.packages, NOW, t.policy)).toEqual(t.expected));
});

describe('applyRetention', () => {
  it('deletes acknowledged old packages, keeps unacknowledged ones, and verify still passes (retired, not missing)', async () => {
    const root = tempDir();
    await addPackage(root, 'inc-old', 1, undefined, { now: NOW - 40 * DAY });
    await addPackage(root, 'inc-open', 1, undefined, { now: NOW - 40 * DAY });
    await addPackage(root, 'inc-new', 1, undefined, { now: NOW - DAY });
    const run = await applyRetention({ root, keys: KEYS, policy: { retentionDays: 30, quotaBytes: 1e9 }, isAcknowledged: (id) => id !== 'inc-open', log, nowMs: NOW });
    expect(run.deleted).toEqual(['inc-old/r1']);
    expect(existsSync(join(root, 'inc-old'))).toBe(true); // the incident folder stays; its r1 is gone
    expect(existsSync(join(root, 'inc-old/r1'))).toBe(false);
    expect(existsSync(join(root, 'inc-open/r1'))).toBe(true);
    expect(await verifyEvidence(root, KEYS.publicKeyPem)).toMatchObject({ ok: true, checked: { packages: 2 } });
    // The chain goes on past a retired package.
    await addPackage(root, 'inc-later');
    expect((await verifyEvidence(root, KEYS.publicKeyPem)).ok).toBe(true);
    // Running again deletes nothing more.
    expect((await applyRetention({ root, keys: KEYS, policy: { retentionDays: 30, quotaBytes: 1e9 }, isAcknowledged: () => true, log, nowMs: NOW })).deleted).toEqual(['inc-open/r1']);
    expect((await verifyEvidence(root, KEYS.publicKeyPem)).ok).toBe(true);
  });

  it('reports over quota when only unacknowledged evidence is left', async () => {
    const root = tempDir();
    await addPackage(root, 'inc-open', 1, undefined, { now: NOW - DAY });
    const run = await applyRetention({ root, keys: KEYS, policy: { retentionDays: 30, quotaBytes: 10 }, isAcknowledged: () => false, log, nowMs: NOW });
    expect(run).toMatchObject({ deleted: [], overQuota: true });
    expect(existsSync(join(root, 'inc-open/r1'))).toBe(true);
  });

  it('a deletion hidden behind a forged retirement line is still caught', async () => {
    const root = tempDir();
    const a = await addPackage(root, 'inc-a');
    await addPackage(root, 'inc-b');
    rmSync(a.dir, { recursive: true });
    appendFileSync(join(root, CHAIN_FILE), canonicalJson(signRetired({ seq: 1, dir: 'inc-a/r1', manifestSha256: a.manifestSha256, atMs: NOW, reason: 'trust me' }, OTHER_KEYS)) + '\n');
    const r = await verifyEvidence(root, KEYS.publicKeyPem);
    expect(r.problems.map((p) => `${p.problem} ${p.item}`).sort()).toEqual([`bad_signature ${CHAIN_FILE}:3`, 'missing inc-a/r1/manifest.json']);
  });

  it('deleting a package and its chain line breaks the chain', async () => {
    const root = tempDir();
    await addPackage(root, 'inc-a');
    const b = await addPackage(root, 'inc-b');
    await addPackage(root, 'inc-c');
    rmSync(b.dir, { recursive: true });
    const lines = readFileSync(join(root, CHAIN_FILE), 'utf8').trim().split('\n');
    writeFileSync(join(root, CHAIN_FILE), [lines[0], lines[2]].join('\n') + '\n');
    const r = await verifyEvidence(root, KEYS.publicKeyPem);
    expect(r.problems.map((p) => `${p.problem} ${p.item}`).sort()).toEqual([`broken_chain ${CHAIN_FILE}:2`, `reordered ${CHAIN_FILE}:2`]);
  });
});
