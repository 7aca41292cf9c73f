import { readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CHAIN_FILE } from '../../../../dispatcher/evidence/chain.js';
import { canonicalJson, signManifest, type Manifest } from '../../../../dispatcher/evidence/manifest.js';
import { verifyEvidence, type VerifyProblem } from '../../../../dispatcher/evidence/verify.js';
import { addPackage, cleanup, KEYS, OTHER_KEYS, tempDir } from '../../../helpers/fixtures/evidence.js';

afterEach(cleanup);

async function threePackages() {
  const root = tempDir();
  const pkgs = [await addPackage(root, 'inc-a'), await addPackage(root, 'inc-b'), await addPackage(root, 'inc-c')];
  return { root, pkgs };
}
const brief = (ps: VerifyProblem[]) => ps.map((p) => `${p.problem} ${p.item}`).sort();

describe('verifyEvidence', () => {
  it('passes an untouched package and an untouched root', async () => {
    const { root, pkgs } = await threePackages();
    expect(await verifyEvidence(pkgs[1]!.dir, KEYS.publicKeyPem)).toMatchObject({ ok: true, kind: 'package', problems: [], checked: { packages: 1, files: 4 } });
    expect(await verifyEvidence(root, KEYS.publicKeyPem)).toMatchObject({ ok: true, kind: 'root', problems: [], checked: { packages: 3, files: 12 } });
  });

  it('a snapshot revision whose full package never came is missing evidence; a sealed lost marker is reported as lost', async () => {
    const root = tempDir();
    const snapshot = (id: string) => ({ 'snapshot-confirmed.jpg': `snap ${id}`, 'meta.json': JSON.stringify({ incidentId: id, snapshot: { file: 'snapshot-confirmed.jpg' } }) });
    await addPackage(root, 'inc-a', 1, snapshot('inc-a'));
    await addPackage(root, 'inc-a', 2);
    await addPackage(root, 'inc-b', 1, snapshot('inc-b'));
    await addPackage(root, 'inc-c', 1, snapshot('inc-c'));
    const marker = await addPackage(root, 'inc-c', 2, { 'meta.json': JSON.stringify({ incidentId: 'inc-c', lost: { what: 'full-resolution package', reason: 'the ring no longer holds 10:00:20' } }) });
    const r = await verifyEvidence(root, KEYS.publicKeyPem);
    expect(r.ok).toBe(false);
    expect(brief(r.problems)).toEqual(['lost inc-c/r2/meta.json', 'missing inc-b/r2']);
    expect(r.problems.find((p) => p.problem === 'lost')!.detail).toContain('the ring no longer holds 10:00:20');
    // the marker alone, as a package, says the same
    expect(brief((await verifyEvidence(marker.dir, KEYS.publicKeyPem)).problems)).toEqual(['lost meta.json']);
  });

  it('one changed byte: names that file, and only that file', async () => {
    const { root, pkgs } = await threePackages();
    const f = join(pkgs[1]!.dir, 'still-confirmed.png');
    const buf = readFileSync(f);
    buf[0] = buf[0]! ^ 0x20;
    writeFileSync(f, buf);
    const one = await verifyEvidence(pkgs[1]!.dir, KEYS.publicKeyPem);
    expect(one.ok).toBe(false);
    expect(brief(one.problems)).toEqual(['changed still-confirmed.png']);
    expect(one.problems[0]!.detail).toContain(f);
    expect(brief((await verifyEvidence(root, KEYS.publicKeyPem)).problems)).toEqual(['changed inc-b/r1/still-confirmed.png']);
  });

  it('a missing file and an extra file', async () => {
    const { pkgs } = await threePackages();
    unlinkSync(join(pkgs[0]!.dir, 'clip.mp4'));
    writeFileSync(join(pkgs[0]!.dir, 'planted.jpg'), 'x');
    expect(brief((await verifyEvidence(pkgs[0]!.dir, KEYS.publicKeyPem)).problems)).toEqual(['extra planted.jpg', 'missing clip.mp4']);
  });

  it('an edited manifest: bad signature (and the chain sees its hash changed)', async () => {
    const { root, pkgs } = await threePackages();
    const mf = join(pkgs[2]!.dir, 'manifest.json');
    const m = JSON.parse(readFileSync(mf, 'utf8')) as Manifest;
    m.createdAt = '2020-01-01T00:00:00.000+08:00';
    writeFileSync(mf, canonicalJson(m) + '\n');
    expect(brief((await verifyEvidence(pkgs[2]!.dir, KEYS.publicKeyPem)).problems)).toEqual(['bad_signature manifest.json']);
    expect(brief((await verifyEvidence(root, KEYS.publicKeyPem)).problems)).toEqual(['bad_signature inc-c/r1/manifest.json', 'changed inc-c/r1/manifest.json']);
  });

  it('a package re-signed with another key after editing a file is caught by the key and the chain', async () => {
    const { root, pkgs } = await threePackages();
    const dir = pkgs[1]!.dir;
    writeFileSync(join(dir, 'meta.json'), '{"incidentId":"someone-else"}');
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    const { createHash } = await import('node:crypto');
    m.files = m.files.map((f) => (f.name === 'meta.json' ? { ...f, bytes: 29, sha256: createHash('sha256').update('{"incidentId":"someone-else"}').digest('hex') } : f));
    const { signature: _s, keyId: _k, ...rest } = m;
    writeFileSync(join(dir, 'manifest.json'), canonicalJson(signManifest(rest, OTHER_KEYS)) + '\n');
    const r = await verifyEvidence(root, KEYS.publicKeyPem);
    expect(brief(r.problems)).toEqual(['bad_signature inc-b/r1/manifest.json', 'changed inc-b/r1/manifest.json']);
    expect(r.problems.find((p) => p.problem === 'bad_signature')!.detail).toContain(OTHER_KEYS.keyId);
  });

  it('verifying with the wrong public key fails every manifest', async () => {
    const { root } = await threePackages();
    const r = await verifyEvidence(root, OTHER_KEYS.publicKeyPem);
    expect(brief(r.problems)).toEqual(['bad_signature inc-a/r1/manifest.json', 'bad_signature inc-b/r1/manifest.json', 'bad_signature inc-c/r1/manifest.json']);
  });

  it('re-ordered chain lines', async () => {
    const { root } = await threePackages();
    const lines = readFileSync(join(root, CHAIN_FILE), 'utf8').trim().split('\n');
    writeFileSync(join(root, CHAIN_FILE), [lines[0], lines[2], lines[1]].join('\n') + '\n');
    const r = await verifyEvidence(root, KEYS.publicKeyPem);
    expect(r.ok).toBe(false);
    expect(brief(r.problems)).toEqual([`broken_chain ${CHAIN_FILE}:2`, `broken_chain ${CHAIN_FILE}:3`, `reordered ${CHAIN_FILE}:2`, `reordered ${CHAIN_FILE}:3`]);
  });

  it('swapped package folders are re-ordered packages', async () => {
    const { root } = await threePackages();
    renameSync(join(root, 'inc-a'), join(root, 'tmp'));
    renameSync(join(root, 'inc-b'), join(root, 'inc-a'));
    renameSync(join(root, 'tmp'), join(root, 'inc-b'));
    const r = await verifyEvidence(root, KEYS.publicKeyPem);
    expect(brief(r.problems).filter((p) => p.startsWith('reordered'))).toEqual(['reordered inc-a/r1/manifest.json', 'reordered inc-b/r1/manifest.json']);
  });

  it('a deleted package is missing; one not in the chain is extra; a chain log line edited is changed', async () => {
    const { root, pkgs } = await threePackages();
    rmSync(pkgs[0]!.dir, { recursive: true });
    const stray = tempDir();
    const other = await addPackage(stray, 'inc-z');
    renameSync(join(stray, 'inc-z'), join(root, 'inc-z'));
    expect(other.seq).toBe(1);
    const r = await verifyEvidence(root, KEYS.publicKeyPem);
    expect(brief(r.problems)).toEqual(['extra inc-z/r1/manifest.json', 'missing inc-a/r1/manifest.json']);

    writeFileSync(join(root, CHAIN_FILE), readFileSync(join(root, CHAIN_FILE), 'utf8').replace(pkgs[2]!.manifestSha256, 'f'.repeat(64)));
    const r2 = await verifyEvidence(root, KEYS.publicKeyPem);
    expect(brief(r2.problems)).toContain('changed inc-c/r1/manifest.json');
  });

  it('a deleted chain.jsonl is reported, and a folder that is neither is an error', async () => {
    const { root } = await threePackages();
    unlinkSync(join(root, CHAIN_FILE));
    const r = await verifyEvidence(root, KEYS.publicKeyPem);
    expect(brief(r.problems)).toEqual(['extra inc-a/r1/manifest.json', 'extra inc-b/r1/manifest.json', 'extra inc-c/r1/manifest.json', `missing ${CHAIN_FILE}`]);
    await expect(verifyEvidence(tempDir(), KEYS.publicKeyPem)).rejects.toMatchObject({ code: 'EVIDENCE_NOT_FOUND' });
    await expect(verifyEvidence(join(root, 'nope'), KEYS.publicKeyPem)).rejects.toMatchObject({ code: 'EVIDENCE_NOT_FOUND' });
  });
});
