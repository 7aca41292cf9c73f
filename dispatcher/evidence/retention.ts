import { existsSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '../../core/log.js';
import { appendChain, chainCorrupt, readChain, signRetired, withChainLock, type ManifestEntry } from './chain.js';
import type { EvidenceKeys } from './keys.js';

/**
 * Retention: evidence older than `retentionDays` goes, and when the root is over `quotaBytes` the oldest goes
 * first — but never the evidence of an incident nobody has acknowledged yet: an unhandled violation without its
 * evidence is worse than a full disk (the quota is then exceeded and the applier says so).
 */

export interface RetentionCandidate {
  dir: string;
  incidentId: string;
  createdMs: number;
  bytes: number;
  acknowledged: boolean;
}

export interface RetentionPolicy {
  retentionDays: number;
  quotaBytes: number;
}

/** Which package folders to delete, oldest first. Pure. */
export function selectForDeletion(packages: readonly RetentionCandidate[], nowMs: number, policy: RetentionPolicy): string[] {
  const oldestFirst = [...packages].sort((a, b) => a.createdMs - b.createdMs || (a.dir < b.dir ? -1 : 1));
  const cutoff = nowMs - policy.retentionDays * 86_400_000;
  const chosen = new Set<string>();
  let total = packages.reduce((s, p) => s + p.bytes, 0);
  for (const p of oldestFirst) {
    if (p.acknowledged && p.createdMs < cutoff) {
      chosen.add(p.dir);
      total -= p.bytes;
    }
  }
  for (const p of oldestFirst) {
    if (total <= policy.quotaBytes) break;
    if (!p.acknowledged || chosen.has(p.dir)) continue;
    chosen.add(p.dir);
    total -= p.bytes;
  }
  return oldestFirst.filter((p) => chosen.has(p.dir)).map((p) => p.dir);
}

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir, { withFileTypes: true })) {
    if (f.isFile()) n += (await stat(join(dir, f.name))).size;
  }
  return n;
}

export interface RetentionRun {
  deleted: string[];
  /** Bytes still under the root after deleting (packages only). */
  remainingBytes: number;
  /** True when unacknowledged evidence alone keeps the root over quota. */
  overQuota: boolean;
}

/**
 * Applies the policy to a root: each deletion is first recorded as a signed `retired` chain line (so verify
 * knows the package was retired, not lost), then the folder is removed.
 */
export async function applyRetention(opts: {
  root: string;
  keys: EvidenceKeys;
  policy: RetentionPolicy;
  isAcknowledged: (incidentId: string) => boolean | Promise<boolean>;
  log: Logger;
  nowMs?: number;
}): Promise<RetentionRun> {
  const root = resolve(opts.root);
  const now = opts.nowMs ?? Date.now();
  return withChainLock(root, async () => {
    const chain = await readChain(root);
    if (chain.badLines.length) throw chainCorrupt(root, `line ${chain.badLines[0]!.line} is not a chain entry`);
    const retiredSeqs = new Set(chain.entries.filter((e) => e.entry.kind === 'retired').map((e) => e.entry.seq));
    const live: (ManifestEntry & { bytes: number; acknowledged: boolean })[] = [];
    for (const { entry } of chain.entries) {
      if (entry.kind !== 'manifest' || retiredSeqs.has(entry.seq) || !existsSync(join(root, entry.dir))) continue;
      live.push({ ...entry, bytes: await dirBytes(join(root, entry.dir)), acknowledged: await opts.isAcknowledged(entry.incidentId) });
    }
    const victims = selectForDeletion(
      live.map((e) => ({ dir: e.dir, incidentId: e.incidentId, createdMs: e.createdMs, bytes: e.bytes, acknowledged: e.acknowledged })),
      now,
      opts.policy,
    );
    const byDir = new Map(live.map((e) => [e.dir, e]));
    for (const dir of victims) {
      const e = byDir.get(dir)!;
      const expired = e.createdMs < now - opts.policy.retentionDays * 86_400_000;
      await appendChain(root, signRetired({ seq: e.seq, dir, manifestSha256: e.manifestSha256, atMs: now, reason: expired ? `older than ${opts.policy.retentionDays} days` : `over the ${opts.policy.quotaBytes}-byte quota` }, opts.keys));
      await rm(join(root, dir), { recursive: true, force: true });
      opts.log.info({ dir, incident: e.incidentId, seq: e.seq, bytes: e.bytes }, 'evidence retired');
    }
    const remainingBytes = live.filter((e) => !victims.includes(e.dir)).reduce((s, e) => s + e.bytes, 0);
    const overQuota = remainingBytes > opts.policy.quotaBytes;
    if (overQuota) opts.log.warn({ remainingBytes, quotaBytes: opts.policy.quotaBytes }, 'evidence over quota: only unacknowledged incidents are left, and they are never deleted');
    return { deleted: victims, remainingBytes, overQuota };
  });
}
