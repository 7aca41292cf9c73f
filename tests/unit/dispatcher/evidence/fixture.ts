import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEvidenceKeys, type EvidenceKeys } from '../../../../dispatcher/evidence/keys.js';
import { sealPackage } from '../../../../dispatcher/evidence/seal.js';

/** Evidence roots built from small text files (no video): the chain and verify logic do not care what the bytes are. */

const made: string[] = [];
export function tempDir(prefix = 'sw-ev-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}
export function cleanup(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

export const KEYS: EvidenceKeys = generateEvidenceKeys();
export const OTHER_KEYS: EvidenceKeys = generateEvidenceKeys();

let n = 0;
export async function addPackage(root: string, incidentId: string, revision = 1, files: Record<string, string> = defaultFiles(incidentId), opts: { keys?: EvidenceKeys; now?: number } = {}) {
  const staging = join(root, '.staging', `t-${process.pid}-${n++}`);
  mkdirSync(staging, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(staging, name), text);
  return sealPackage({ root, staging, incidentId, revision, keys: opts.keys ?? KEYS, timezone: 'Asia/Shanghai', now: opts.now === undefined ? undefined : () => opts.now! });
}

export const defaultFiles = (id: string): Record<string, string> => ({
  'still-first.png': `first ${id}`,
  'still-confirmed.png': `confirmed ${id}`,
  'clip.mp4': `clip ${id}`.repeat(100),
  'meta.json': JSON.stringify({ incidentId: id }),
});
