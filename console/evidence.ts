import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FILE, parseManifest, sha256Hex } from '../dispatcher/evidence/manifest.js';
import { verifyEvidence, type VerifyResult } from '../dispatcher/evidence/verify.js';

/**
 * The console's read side of the evidence root: an incident's sealed revisions with their files, and their
 * verification (hashes and signatures, as `streetwatch evidence verify` checks them). Only names a manifest
 * lists are ever offered or served, so nothing else under the root is reachable through the console.
 */

export type FileKind = 'still' | 'annotated' | 'snapshot' | 'clip' | 'meta' | 'manifest' | 'other';

export interface EvidenceFileView {
  name: string;
  kind: FileKind;
  path: string;
  sha256?: string;
  bytes: number;
}

export interface RevisionView {
  revision: number;
  sealedAt?: string;
  manifestSha256: string;
  files: EvidenceFileView[];
}

/** Incident ids are UUIDs; anything else in an evidence path is refused before the disk is touched. */
export const INCIDENT_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/;
export const REVISION = /^r([1-9][0-9]{0,3})$/;
export const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function fileKind(name: string): FileKind {
  if (name === MANIFEST_FILE) return 'manifest';
  if (name === 'meta.json') return 'meta';
  if (name.startsWith('still-')) return 'still';
  if (name.startsWith('annotated-')) return 'annotated';
  if (name.startsWith('snapshot')) return 'snapshot';
  if (name.endsWith('.mp4')) return 'clip';
  return 'other';
}

export class EvidenceReader {
  /**
   * Verification results by package folder and a fingerprint of its files (names, sizes, mtimes): a detail
   * view refreshed every few seconds does not re-hash megabytes each time, yet any file written since is
   * checked again. (Content changed with size and mtime restored is caught by `streetwatch evidence verify`.)
   */
  private readonly verified = new Map<string, { fingerprint: string; result: VerifyResult; atMs: number }>();

  constructor(
    readonly root: string,
    /** The evidence public key (PEM), or undefined while there is none: then nothing is verified. */
    private readonly publicKey: () => string | undefined,
  ) {}

  async revisions(incidentId: string): Promise<RevisionView[]> {
    if (!INCIDENT_ID.test(incidentId)) return [];
    const names = await readdir(join(this.root, incidentId)).catch(() => [] as string[]);
    const revs = names.map((n) => REVISION.exec(n)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1])).sort((a, b) => a - b);
    const out: RevisionView[] = [];
    for (const revision of revs) {
      const dir = join(this.root, incidentId, `r${revision}`);
      const bytes = await readFile(join(dir, MANIFEST_FILE)).catch(() => undefined);
      if (!bytes) continue; // being sealed right now
      const m = parseManifest(bytes.toString('utf8'), join(dir, MANIFEST_FILE));
      const path = (name: string) => `/api/evidence/${incidentId}/r${revision}/${name}`;
      out.push({
        revision,
        sealedAt: m.createdAt,
        manifestSha256: sha256Hex(bytes),
        files: [
          ...m.files.map((f) => ({ name: f.name, kind: fileKind(f.name), path: path(f.name), sha256: f.sha256, bytes: f.bytes })),
          { name: MANIFEST_FILE, kind: 'manifest' as const, path: path(MANIFEST_FILE), bytes: bytes.length },
        ],
      });
    }
    return out;
  }

  /**
   * The file's path under the root, when the path parts are well-formed and the revision's manifest lists the
   * name; undefined otherwise (the caller answers 404 without saying which part was wrong).
   */
  async resolveFile(incidentId: string, revision: string, name: string): Promise<string | undefined> {
    if (!INCIDENT_ID.test(incidentId) || !REVISION.test(revision) || !FILE_NAME.test(name)) return undefined;
    const dir = join(this.root, incidentId, revision);
    const bytes = await readFile(join(dir, MANIFEST_FILE)).catch(() => undefined);
    if (!bytes) return undefined;
    if (name !== MANIFEST_FILE && !parseManifest(bytes.toString('utf8'), dir).files.some((f) => f.name === name)) return undefined;
    return existsSync(join(dir, name)) ? `${incidentId}/${revision}/${name}` : undefined;
  }

  /** Every revision of an incident checked against its manifest and signature; null without a public key. */
  async verify(incidentId: string, nowMs: number): Promise<{ ok: boolean; checkedAtMs: number; problems: VerifyResult['problems'] } | null> {
    const publicKeyPem = this.publicKey();
    if (!publicKeyPem || !INCIDENT_ID.test(incidentId)) return null;
    const names = await readdir(join(this.root, incidentId)).catch(() => [] as string[]);
    const problems: VerifyResult['problems'] = [];
    let checkedAtMs = nowMs;
    let any = false;
    for (const n of names.filter((x) => REVISION.test(x))) {
      const dir = join(this.root, incidentId, n);
      if (!existsSync(join(dir, MANIFEST_FILE))) continue;
      any = true;
      const fingerprint = await fingerprintOf(dir);
      let hit = this.verified.get(dir);
      if (!hit || hit.fingerprint !== fingerprint) {
        hit = { fingerprint, result: await verifyEvidence(dir, publicKeyPem), atMs: nowMs };
        this.verified.set(dir, hit);
      }
      checkedAtMs = Math.min(checkedAtMs, hit.atMs);
      problems.push(...hit.result.problems.map((p) => ({ ...p, item: `${n}/${p.item}` })));
    }
    return any ? { ok: problems.length === 0, checkedAtMs, problems } : null;
  }
}

async function fingerprintOf(dir: string): Promise<string> {
  const names = (await readdir(dir)).sort();
  const parts = await Promise.all(names.map(async (n) => stat(join(dir, n)).then((s) => `${n}:${s.size}:${s.mtimeMs}`, () => `${n}:gone`)));
  return parts.join('|');
}
