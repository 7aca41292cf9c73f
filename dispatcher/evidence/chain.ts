import { sign, verify } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StreetwatchError } from '../../core/errors.js';
import { parsePrivateKey, parsePublicKey, type EvidenceKeys } from './keys.js';
import { canonicalJson } from './manifest.js';

/**
 * `<root>/chain.jsonl`: the append-only log of the root's manifest chain, one canonical JSON line per event.
 * A `manifest` line records a new package (its seq, dir and manifestSha256, and the hash before it); a `retired`
 * line records that retention deleted a package, so verify does not call it missing. Retired lines are signed
 * with the evidence key: otherwise deleting a package and writing such a line would hide the deletion.
 * The chain itself needs no extra signature: each signed manifest names its predecessor's hash.
 */

export const CHAIN_FILE = 'chain.jsonl';

export interface ManifestEntry {
  kind: 'manifest';
  seq: number;
  incidentId: string;
  revision: number;
  /** Package folder relative to the root, with '/' separators. */
  dir: string;
  manifestSha256: string;
  previous: string | null;
  createdMs: number;
}

export interface RetiredEntry {
  kind: 'retired';
  /** The seq and dir of the manifest line this retires. */
  seq: number;
  dir: string;
  manifestSha256: string;
  atMs: number;
  reason: string;
  keyId: string;
  signature: string;
}

export type ChainEntry = ManifestEntry | RetiredEntry;

export interface ChainRead {
  entries: { line: number; entry: ChainEntry }[];
  /** Lines that are not a chain entry (1-based line numbers). */
  badLines: { line: number; detail: string }[];
}

export async function readChain(root: string): Promise<ChainRead> {
  let text: string;
  try {
    text = await readFile(join(root, CHAIN_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], badLines: [] };
    throw e;
  }
  const out: ChainRead = { entries: [], badLines: [] };
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      const e = JSON.parse(raw) as ChainEntry;
      if ((e.kind !== 'manifest' && e.kind !== 'retired') || typeof e.seq !== 'number' || typeof e.dir !== 'string' || typeof e.manifestSha256 !== 'string') {
        throw new Error('not a chain entry (kind, seq, dir, manifestSha256)');
      }
      out.entries.push({ line: i + 1, entry: e });
    } catch (err) {
      out.badLines.push({ line: i + 1, detail: (err as Error).message });
    }
  });
  return out;
}

/** The last manifest line: what the next package chains to. */
export function chainHead(read: ChainRead): ManifestEntry | undefined {
  for (let i = read.entries.length - 1; i >= 0; i--) {
    const e = read.entries[i]!.entry;
    if (e.kind === 'manifest') return e;
  }
  return undefined;
}

/** Appends one line and fsyncs it: the chain must survive a power cut right after a package is reported. */
export async function appendChain(root: string, entry: ChainEntry): Promise<void> {
  const fh = await open(join(root, CHAIN_FILE), 'a');
  try {
    await fh.write(canonicalJson(entry) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const retiredSigned = (r: Omit<RetiredEntry, 'signature'> | RetiredEntry) => {
  const { signature: _omit, ...rest } = r as RetiredEntry;
  return Buffer.from(canonicalJson(rest), 'utf8');
};

export function signRetired(r: Omit<RetiredEntry, 'signature' | 'keyId' | 'kind'>, keys: EvidenceKeys): RetiredEntry {
  const unsigned = { kind: 'retired' as const, ...r, keyId: keys.keyId };
  const signature = sign(null, retiredSigned(unsigned), parsePrivateKey(keys.privateKeyPem, 'the evidence private key')).toString('base64');
  return { ...unsigned, signature };
}

export function retiredSignatureOk(r: RetiredEntry, publicKeyPem: string): boolean {
  if (typeof r.signature !== 'string') return false;
  return verify(null, retiredSigned(r), parsePublicKey(publicKeyPem, 'the public key'), Buffer.from(r.signature, 'base64'));
}

// One writer per root within the process: the packager and the retention applier both append, and a chain
// needs each line to see the line before it. (Two processes on one root would need a file lock; see README.)
const locks = new Map<string, Promise<unknown>>();

export function withChainLock<T>(root: string, fn: () => Promise<T>): Promise<T> {
  const key = resolve(root);
  const prev = locks.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => undefined);
  locks.set(key, tail);
  void tail.then(() => {
    if (locks.get(key) === tail) locks.delete(key);
  });
  return run;
}

export function chainCorrupt(root: string, detail: string): StreetwatchError {
  return new StreetwatchError('EVIDENCE_CHAIN_CORRUPT', `${join(root, CHAIN_FILE)}: ${detail}; run 'streetwatch evidence verify ${root}' and restore the file from backup before packaging more evidence`);
}
