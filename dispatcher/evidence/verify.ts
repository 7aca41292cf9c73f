import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StreetwatchError } from '../../core/errors.js';
import { CHAIN_FILE, readChain, retiredSignatureOk, type ManifestEntry, type RetiredEntry } from './chain.js';
import { hashFile, MANIFEST_FILE, parseManifest, sha256Hex, signatureProblem, type Manifest } from './manifest.js';

/**
 * Checks evidence: one package folder (its files against its manifest, and the manifest's signature) or a whole
 * root (every package, plus the chain: seq order, each manifest naming its predecessor's hash, chain.jsonl
 * matching the manifests on disk, retired packages properly signed off). Every problem names the item (a path
 * relative to what was given, or `chain.jsonl:<line>`), so an auditor sees exactly what changed.
 */

/**
 * `lost`: a package streetwatch owed but could not make, sealed as a signed marker saying why (dispatcher/stage.ts).
 * A snapshot revision whose full package never came at all is `missing`.
 */
export type ProblemKind = 'changed' | 'missing' | 'extra' | 'reordered' | 'bad_signature' | 'broken_chain' | 'lost';

export interface VerifyProblem {
  item: string;
  problem: ProblemKind;
  detail: string;
}

export interface VerifyResult {
  ok: boolean;
  kind: 'package' | 'root';
  problems: VerifyProblem[];
  /** Packages and files whose hashes were checked (retired packages are not counted). */
  checked: { packages: number; files: number };
}

export async function verifyEvidence(dirOrRoot: string, publicKeyPem: string): Promise<VerifyResult> {
  if (!existsSync(dirOrRoot)) throw new StreetwatchError('EVIDENCE_NOT_FOUND', `${dirOrRoot} does not exist; give an evidence package folder or the evidence root`);
  if (existsSync(join(dirOrRoot, MANIFEST_FILE))) {
    const r = await verifyPackage(dirOrRoot, '', publicKeyPem);
    return { ok: r.problems.length === 0, kind: 'package', problems: r.problems, checked: { packages: 1, files: r.files } };
  }
  const hasChain = existsSync(join(dirOrRoot, CHAIN_FILE));
  const onDisk = await findPackageDirs(dirOrRoot);
  if (!hasChain && onDisk.length === 0) {
    throw new StreetwatchError('EVIDENCE_NOT_FOUND', `${dirOrRoot} has neither ${MANIFEST_FILE} (a package) nor ${CHAIN_FILE} (an evidence root); give one of those folders`);
  }
  return verifyRoot(dirOrRoot, onDisk, hasChain, publicKeyPem);
}

interface PackageCheck {
  problems: VerifyProblem[];
  manifest?: Manifest;
  /** sha256 of manifest.json as stored. */
  manifestSha256?: string;
  files: number;
  /** An instant snapshot package: the full package must follow it as the next revision. */
  snapshot?: boolean;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const META_FILE = 'meta.json';

async function readMeta(file: string): Promise<{ lost?: { what?: string; reason?: string }; snapshot?: unknown } | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as { lost?: { what?: string; reason?: string }; snapshot?: unknown };
  } catch {
    return undefined;
  }
}

async function verifyPackage(dir: string, prefix: string, publicKeyPem: string): Promise<PackageCheck> {
  const problems: VerifyProblem[] = [];
  const item = (name: string) => `${prefix}${name}`;
  let raw: Buffer;
  try {
    raw = await readFile(join(dir, MANIFEST_FILE));
  } catch {
    return { problems: [{ item: item(MANIFEST_FILE), problem: 'missing', detail: `${join(dir, MANIFEST_FILE)} is gone` }], files: 0 };
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(raw.toString('utf8'), join(dir, MANIFEST_FILE));
  } catch (e) {
    return { problems: [{ item: item(MANIFEST_FILE), problem: 'changed', detail: (e as Error).message }], files: 0, manifestSha256: sha256Hex(raw) };
  }
  const sig = signatureProblem(manifest, publicKeyPem);
  if (sig) problems.push({ item: item(MANIFEST_FILE), problem: 'bad_signature', detail: sig });

  const listed = new Set<string>();
  let files = 0;
  for (const f of manifest.files) {
    // A name with a path in it would let a forged manifest point outside the package.
    if (!SAFE_NAME.test(f.name) || f.name === MANIFEST_FILE) {
      problems.push({ item: item(MANIFEST_FILE), problem: 'changed', detail: `lists an impossible file name '${f.name}'` });
      continue;
    }
    listed.add(f.name);
    const path = join(dir, f.name);
    let actual: { sha256: string; bytes: number };
    try {
      actual = await hashFile(path);
    } catch {
      problems.push({ item: item(f.name), problem: 'missing', detail: `${path} is listed in the manifest (${f.bytes} bytes) but is not there` });
      continue;
    }
    files++;
    if (actual.sha256 !== f.sha256 || actual.bytes !== f.bytes) {
      problems.push({ item: item(f.name), problem: 'changed', detail: `${path}: sha256 ${actual.sha256.slice(0, 16)}… (${actual.bytes} bytes), manifest says ${f.sha256.slice(0, 16)}… (${f.bytes} bytes)` });
    }
  }
  for (const name of (await readdir(dir)).sort()) {
    if (name === MANIFEST_FILE || listed.has(name)) continue;
    problems.push({ item: item(name), problem: 'extra', detail: `${join(dir, name)} is not in the manifest` });
  }
  // meta.json is hashed above; what it declares counts only when it is the signed one
  const meta = listed.has(META_FILE) && !problems.some((p) => p.item === item(META_FILE)) ? await readMeta(join(dir, META_FILE)) : undefined;
  if (meta?.lost) {
    problems.push({ item: item(META_FILE), problem: 'lost', detail: `incident ${manifest.incidentId} revision ${manifest.revision}: the ${meta.lost.what ?? 'package'} was owed but could not be made: ${meta.lost.reason ?? 'no reason given'}` });
  }
  return { problems, manifest, manifestSha256: sha256Hex(raw), files, snapshot: meta?.snapshot !== undefined };
}

/** Package folders under a root: `<incident>/<revision>` holding a manifest. Staging folders (dot names) are skipped. */
async function findPackageDirs(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const a of await readdir(root, { withFileTypes: true })) {
    if (!a.isDirectory() || a.name.startsWith('.')) continue;
    for (const b of await readdir(join(root, a.name), { withFileTypes: true })) {
      if (b.isDirectory() && existsSync(join(root, a.name, b.name, MANIFEST_FILE))) out.push(`${a.name}/${b.name}`);
    }
  }
  return out.sort();
}

async function verifyRoot(root: string, onDisk: string[], hasChain: boolean, publicKeyPem: string): Promise<VerifyResult> {
  const problems: VerifyProblem[] = [];
  let packages = 0;
  let files = 0;
  if (!hasChain) problems.push({ item: CHAIN_FILE, problem: 'missing', detail: `${join(root, CHAIN_FILE)} is gone but ${onDisk.length} package(s) are on disk` });
  const chain = await readChain(root);
  for (const b of chain.badLines) problems.push({ item: `${CHAIN_FILE}:${b.line}`, problem: 'changed', detail: b.detail });

  // Retirements, by the seq they retire; only properly signed ones count.
  const retired = new Map<number, RetiredEntry>();
  for (const { line, entry } of chain.entries) {
    if (entry.kind !== 'retired') continue;
    if (!retiredSignatureOk(entry, publicKeyPem)) {
      problems.push({ item: `${CHAIN_FILE}:${line}`, problem: 'bad_signature', detail: `the retirement of ${entry.dir} is not signed by this key` });
      continue;
    }
    retired.set(entry.seq, entry);
  }

  // The signed manifests are checked against their predecessor by seq, not by line position, so re-ordered
  // lines in chain.jsonl are reported once (there) and not again for every manifest after them.
  const hashBySeq = new Map<number, string>();
  for (const { entry } of chain.entries) if (entry.kind === 'manifest' && !hashBySeq.has(entry.seq)) hashBySeq.set(entry.seq, entry.manifestSha256);
  const inChain = new Set<string>();
  const snapshots: ManifestEntry[] = [];
  let expectedSeq = 1;
  let prevHash: string | null = null;
  for (const { line, entry } of chain.entries) {
    if (entry.kind !== 'manifest') continue;
    const e: ManifestEntry = entry;
    inChain.add(e.dir);
    const at = `${CHAIN_FILE}:${line}`;
    if (e.seq !== expectedSeq) problems.push({ item: at, problem: 'reordered', detail: `seq ${e.seq} (${e.dir}) where seq ${expectedSeq} was expected` });
    if (e.previous !== prevHash) problems.push({ item: at, problem: 'broken_chain', detail: `${e.dir} says the manifest before it is ${short(e.previous)}, but the line before has ${short(prevHash)}` });
    expectedSeq = e.seq + 1;
    prevHash = e.manifestSha256;
    const predecessor = e.seq === 1 ? null : hashBySeq.get(e.seq - 1);

    const dir = join(root, e.dir);
    const r = retired.get(e.seq);
    if (r && r.manifestSha256 === e.manifestSha256 && r.dir === e.dir && !existsSync(join(dir, MANIFEST_FILE))) continue;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(e.dir)) {
      problems.push({ item: at, problem: 'changed', detail: `impossible package folder '${e.dir}'` });
      continue;
    }
    if (!existsSync(join(dir, MANIFEST_FILE))) {
      problems.push({ item: `${e.dir}/${MANIFEST_FILE}`, problem: 'missing', detail: `package seq ${e.seq} (incident ${e.incidentId} revision ${e.revision}) is in the chain but ${join(dir, MANIFEST_FILE)} is gone and it was not retired` });
      continue;
    }
    const pkg = await verifyPackage(dir, `${e.dir}/`, publicKeyPem);
    if (pkg.snapshot) snapshots.push(e);
    packages++;
    files += pkg.files;
    problems.push(...pkg.problems);
    if (pkg.manifest && pkg.manifestSha256 !== e.manifestSha256) {
      if (pkg.manifest.seq !== e.seq) {
        problems.push({ item: `${e.dir}/${MANIFEST_FILE}`, problem: 'reordered', detail: `holds the manifest of seq ${pkg.manifest.seq} (incident ${pkg.manifest.incidentId} revision ${pkg.manifest.revision}) where the chain has seq ${e.seq}` });
      } else {
        problems.push({ item: `${e.dir}/${MANIFEST_FILE}`, problem: 'changed', detail: `sha256 ${short(pkg.manifestSha256)}, chain.jsonl line ${line} says ${short(e.manifestSha256)}` });
      }
    }
    // The signed manifest must name the same predecessor as the chain: this is what makes the chain tamper-evident.
    if (pkg.manifest && pkg.manifest.seq === e.seq && predecessor !== undefined && pkg.manifest.previous !== predecessor) {
      problems.push({ item: `${e.dir}/${MANIFEST_FILE}`, problem: 'broken_chain', detail: `the signed manifest names ${short(pkg.manifest.previous)} as its predecessor, the chain has ${short(predecessor)}` });
    }
  }
  for (const d of onDisk) {
    if (!inChain.has(d)) problems.push({ item: `${d}/${MANIFEST_FILE}`, problem: 'extra', detail: `package ${join(root, d)} is not in ${CHAIN_FILE}` });
  }
  // A snapshot promises the full package as its next revision: one that never came (a crash, and no restart
  // to finish it or mark it lost yet) is missing evidence, not a complete root.
  for (const e of snapshots) {
    const next = `${e.incidentId}/r${e.revision + 1}`;
    if (!inChain.has(next)) {
      problems.push({ item: next, problem: 'missing', detail: `${e.dir} is the instant snapshot of incident ${e.incidentId}; the full-resolution package that must follow it (${next}) was never sealed — still being made, or owed since a crash (the next start makes it or seals a lost marker)` });
    }
  }
  return { ok: problems.length === 0, kind: 'root', problems, checked: { packages, files } };
}

const short = (h: string | null | undefined) => (h ? `${h.slice(0, 16)}…` : 'none');

/** One line per problem, as the CLI prints them. */
export function formatProblem(p: VerifyProblem): string {
  return `${p.problem.toUpperCase().padEnd(13)} ${p.item}: ${p.detail}`;
}

