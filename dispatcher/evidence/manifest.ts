import { createHash, sign, verify } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { StreetwatchError } from '../../core/errors.js';
import { keyIdOf, parsePrivateKey, parsePublicKey, type EvidenceKeys } from './keys.js';

/**
 * The manifest of one evidence package: every file's name, size and sha256, the hash of the manifest before it
 * in the root's chain (`previous`), and an Ed25519 signature. The file on disk is the canonical JSON of the
 * manifest plus a newline, so its hash (`manifestSha256`, what the next manifest and the tickets quote) is
 * reproducible by anyone who re-serialises it. The signature covers the canonical JSON without `signature`.
 */

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_VERSION = 1;

export interface ManifestFile {
  name: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  version: number;
  /** Position in the root's chain, 1-based. */
  seq: number;
  incidentId: string;
  revision: number;
  /** ISO 8601 with offset, in the site's time zone. */
  createdAt: string;
  /** Sorted by name, so the same files always give the same manifest. */
  files: ManifestFile[];
  /** manifestSha256 of the previous manifest in the chain; null for the first. */
  previous: string | null;
  keyId: string;
  signature?: { alg: 'Ed25519'; value: string };
}

/**
 * Canonical JSON: object keys sorted (by UTF-16 code unit, as Array.sort does), no whitespace, undefined members
 * dropped. Non-finite numbers are refused: JSON.stringify would silently turn them into null.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new StreetwatchError('EVIDENCE_REQUEST_INVALID', `cannot put ${value} in canonical JSON`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new StreetwatchError('EVIDENCE_REQUEST_INVALID', `cannot put a ${typeof value} in canonical JSON`);
}

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** Streams the file (clips are megabytes) and returns its sha256 and size. */
export function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolvePromise, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    createReadStream(path)
      .on('data', (chunk) => {
        const b = chunk as Buffer;
        bytes += b.length;
        h.update(b);
      })
      .on('error', reject)
      .on('end', () => resolvePromise({ sha256: h.digest('hex'), bytes }));
  });
}

/** What is signed: the canonical manifest without its signature. */
function signedBytes(m: Manifest): Buffer {
  const { signature: _omit, ...rest } = m;
  return Buffer.from(canonicalJson(rest), 'utf8');
}

export function signManifest(m: Omit<Manifest, 'signature' | 'keyId'>, keys: EvidenceKeys): Manifest {
  const unsigned: Manifest = { ...m, files: [...m.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)), keyId: keys.keyId };
  const value = sign(null, signedBytes(unsigned), parsePrivateKey(keys.privateKeyPem, 'the evidence private key')).toString('base64');
  return { ...unsigned, signature: { alg: 'Ed25519', value } };
}

/** The exact bytes of manifest.json. */
export function serialiseManifest(m: Manifest): Buffer {
  return Buffer.from(canonicalJson(m) + '\n', 'utf8');
}

/** Why the signature does not hold, or undefined when it does. */
export function signatureProblem(m: Manifest, publicKeyPem: string): string | undefined {
  if (!m.signature || m.signature.alg !== 'Ed25519' || typeof m.signature.value !== 'string') return 'no Ed25519 signature';
  const key = parsePublicKey(publicKeyPem, 'the public key');
  const id = keyIdOf(key);
  if (m.keyId !== id) return `signed by key ${String(m.keyId)}, but the public key given is ${id}`;
  const ok = verify(null, signedBytes(m), key, Buffer.from(m.signature.value, 'base64'));
  return ok ? undefined : 'the signature does not match the manifest (edited after signing, or signed by another key)';
}

/** Parses manifest.json text, checking the shape enough that verify can rely on the fields it reads. */
export function parseManifest(text: string, where: string): Manifest {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new StreetwatchError('EVIDENCE_CHAIN_CORRUPT', `${where} is not JSON: ${(e as Error).message}`);
  }
  const m = v as Partial<Manifest>;
  const okFiles = Array.isArray(m.files) && m.files.every((f) => f && typeof f.name === 'string' && typeof f.sha256 === 'string' && typeof f.bytes === 'number');
  if (!m || typeof m !== 'object' || typeof m.seq !== 'number' || typeof m.incidentId !== 'string' || typeof m.revision !== 'number' || !okFiles || !(m.previous === null || typeof m.previous === 'string')) {
    throw new StreetwatchError('EVIDENCE_CHAIN_CORRUPT', `${where} is not an evidence manifest (seq, incidentId, revision, files, previous)`);
  }
  return m as Manifest;
}
