import { describe, expect, it } from 'vitest';
import { canonicalJson, parseManifest, serialiseManifest, sha256Hex, signatureProblem, signManifest, type Manifest } from '../../../../dispatcher/evidence/manifest.js';
import { isoInZone } from '../../../../core/time.js';
import { KEYS, OTHER_KEYS } from '../../../helpers/fixtures/evidence.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth, keeps array order, drops undefined, adds no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1, { z: 1, y: 2 }], c: 'x' }, u: undefined })).toBe('{"a":{"c":"x","d":[3,1,{"y":2,"z":1}]},"b":1}');
  });
  it('gives the same text whatever the insertion order', () => {
    expect(canonicalJson({ x: 1, y: [1, 2], z: { q: null, p: true } })).toBe(canonicalJson({ z: { p: true, q: null }, y: [1, 2], x: 1 }));
  });
  it('keeps non-ASCII text as is (camera and shop names are Chinese)', () => {
    expect(canonicalJson({ name: '老王水果店' })).toBe('{"name":"老王水果店"}');
  });
  it('refuses numbers JSON cannot hold instead of writing null', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/NaN/);
    expect(() => canonicalJson({ a: Infinity })).toThrow();
  });
});

const base = (): Omit<Manifest, 'signature' | 'keyId'> => ({
  version: 1,
  seq: 3,
  incidentId: 'inc-1',
  revision: 1,
  createdAt: '2026-11-27T12:00:00.000+08:00',
  files: [
    { name: 'still-first.png', bytes: 10, sha256: 'b'.repeat(64) },
    { name: 'clip.mp4', bytes: 20, sha256: 'a'.repeat(64) },
  ],
  previous: 'c'.repeat(64),
});

describe('manifest signature', () => {
  it('signs the canonical manifest; files sorted by name; the file bytes are canonical JSON + newline', () => {
    const m = signManifest(base(), KEYS);
    expect(m.files.map((f) => f.name)).toEqual(['clip.mp4', 'still-first.png']);
    expect(m.keyId).toBe(KEYS.keyId);
    expect(signatureProblem(m, KEYS.publicKeyPem)).toBeUndefined();
    const bytes = serialiseManifest(m);
    const again = parseManifest(bytes.toString('utf8'), 'm');
    expect(serialiseManifest(again).equals(bytes)).toBe(true);
    expect(sha256Hex(bytes)).toMatch(/^[0-9a-f]{64}$/);
  });
  it('any edited field breaks it', () => {
    const m = signManifest(base(), KEYS);
    for (const edit of [{ seq: 4 }, { previous: 'd'.repeat(64) }, { files: [...m.files.slice(1)] }, { createdAt: '2026-11-27T12:00:01.000+08:00' }]) {
      expect(signatureProblem({ ...m, ...edit }, KEYS.publicKeyPem)).toMatch(/does not match/);
    }
  });
  it('another key does not verify it, and says which key signed', () => {
    const m = signManifest(base(), KEYS);
    expect(signatureProblem(m, OTHER_KEYS.publicKeyPem)).toMatch(new RegExp(`signed by key ${KEYS.keyId}`));
    // Re-signed by someone else claiming our key id: still refused.
    const forged = { ...signManifest(base(), OTHER_KEYS), keyId: KEYS.keyId };
    expect(signatureProblem(forged, KEYS.publicKeyPem)).toMatch(/does not match/);
    expect(signatureProblem({ ...m, signature: undefined }, KEYS.publicKeyPem)).toMatch(/no Ed25519 signature/);
  });
});

describe('isoInZone', () => {
  it('writes local time with the offset of the zone', () => {
    const ms = Date.UTC(2026, 10, 27, 3, 52, 25, 7);
    expect(isoInZone(ms, 'Asia/Shanghai')).toBe('2026-11-27T11:52:25.007+08:00');
    expect(isoInZone(ms, 'UTC')).toBe('2026-11-27T03:52:25.007+00:00');
    expect(isoInZone(Date.UTC(2026, 6, 1, 12), 'America/New_York')).toBe('2026-07-01T08:00:00.000-04:00');
    expect(isoInZone(Date.UTC(2026, 0, 1, 12), 'Asia/Kolkata')).toBe('2026-01-01T17:30:00.000+05:30');
    expect(Date.parse(isoInZone(ms, 'Asia/Shanghai'))).toBe(ms);
  });
});
