import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StreetwatchError } from '../../core/errors.js';

/**
 * The evidence signing key pair (Ed25519). The private key signs every manifest; anyone holding the public key
 * can check a package without being able to forge one. Both are PEM files in one folder; the private key is
 * written with mode 0600 and never logged or put in an error message (only its file name is).
 */

export const PRIVATE_KEY_FILE = 'evidence-ed25519.key';
export const PUBLIC_KEY_FILE = 'evidence-ed25519.pub';
/** Where `keys init` and `evidence verify` look when no folder is given (the default storage.dataDir + keys). */
export const DEFAULT_KEYS_DIR = 'data/keys';

export interface EvidenceKeys {
  privateKeyPem: string;
  publicKeyPem: string;
  /** Short fingerprint of the public key, written into each manifest so a verifier knows which key to use. */
  keyId: string;
}

/** First 16 hex digits of the sha256 of the public key (SPKI DER): stable across PEM line wrapping. */
export function keyIdOf(publicKey: string | KeyObject): string {
  const key = typeof publicKey === 'string' ? parsePublicKey(publicKey, 'public key') : publicKey;
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

export function parsePublicKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new StreetwatchError('KEY_INVALID', `${where} is not a PEM public key: ${(e as Error).message}`, { cause: e });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new StreetwatchError('KEY_INVALID', `${where} is a ${key.asymmetricKeyType} key; evidence uses Ed25519 ('streetwatch keys init' makes one)`);
  return key;
}

export function parsePrivateKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    // The PEM itself must not reach the message.
    throw new StreetwatchError('KEY_INVALID', `${where} is not a PEM private key`, { cause: new Error((e as Error).message) });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new StreetwatchError('KEY_INVALID', `${where} is a ${key.asymmetricKeyType} key; evidence uses Ed25519 ('streetwatch keys init' makes one)`);
  return key;
}

/** A fresh key pair in memory (tests, and what `createKeyFiles` writes). */
export function generateEvidenceKeys(): EvidenceKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKeyPem, keyId: keyIdOf(publicKey) };
}

/**
 * Writes a new key pair into `dir`. Refuses to replace an existing key unless `force`: a replaced private key
 * cannot sign for the old chain, and packages signed by the old one need the old public key to verify.
 */
export function createKeyFiles(dir: string, opts: { force?: boolean } = {}): { privatePath: string; publicPath: string; keyId: string } {
  const privatePath = resolve(dir, PRIVATE_KEY_FILE);
  const publicPath = resolve(dir, PUBLIC_KEY_FILE);
  const present = [privatePath, publicPath].filter((p) => existsSync(p));
  if (present.length && !opts.force) {
    throw new StreetwatchError('KEY_EXISTS', `${present.join(' and ')} already exist; keep them (packages signed with them need them to verify) or pass --force to replace them`);
  }
  const keys = generateEvidenceKeys();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mode applies only when the file is created; chmod covers --force over an existing, looser file.
  writeFileSync(privatePath, keys.privateKeyPem, { mode: 0o600 });
  chmodSync(privatePath, 0o600);
  writeFileSync(publicPath, keys.publicKeyPem, { mode: 0o644 });
  return { privatePath, publicPath, keyId: keys.keyId };
}

/** Loads the pair from `dir` and checks the two halves belong together. */
export function loadKeyFiles(dir: string): EvidenceKeys {
  const privatePath = join(dir, PRIVATE_KEY_FILE);
  const publicPath = join(dir, PUBLIC_KEY_FILE);
  for (const p of [privatePath, publicPath]) {
    if (!existsSync(p)) throw new StreetwatchError('KEY_NOT_FOUND', `evidence key ${p} not found; run 'streetwatch keys init --dir ${dir}' to make the key pair`);
  }
  const privateKeyPem = readFileSync(privatePath, 'utf8');
  const publicKeyPem = readFileSync(publicPath, 'utf8');
  const derived = createPublicKey(parsePrivateKey(privateKeyPem, privatePath));
  const keyId = keyIdOf(publicKeyPem);
  if (keyIdOf(derived) !== keyId) throw new StreetwatchError('KEY_INVALID', `${privatePath} and ${publicPath} are not one key pair; restore the matching files or make a new pair with 'streetwatch keys init --force'`);
  return { privateKeyPem, publicKeyPem, keyId };
}

export function loadPublicKeyFile(path: string): string {
  if (!existsSync(path)) throw new StreetwatchError('KEY_NOT_FOUND', `public key ${path} not found; give the evidence public key with --key (made by 'streetwatch keys init')`);
  const pem = readFileSync(path, 'utf8');
  parsePublicKey(pem, path);
  return pem;
}
