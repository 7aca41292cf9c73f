import { readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CHAIN_FILE, readChain } from '../../../../dispatcher/evidence/chain.js';
import { sha256Hex } from '../../../../dispatcher/evidence/manifest.js';
import { addPackage, cleanup, tempDir } from '../../../helpers/fixtures/evidence.js';

afterEach(cleanup);

describe('the manifest chain', () => {
  it('links each manifest to the one before, in creation order, in chain.jsonl', async () => {
    const root = tempDir();
    const a = await addPackage(root, 'inc-a');
    const b = await addPackage(root, 'inc-b');
    const c = await addPackage(root, 'inc-a', 2);
    expect([a.seq, b.seq, c.seq]).toEqual([1, 2, 3]);
    const manifests = [a, b, c].map((p) => JSON.parse(readFileSync(join(p.dir, 'manifest.json'), 'utf8')));
    expect(manifests.map((m) => m.previous)).toEqual([null, a.manifestSha256, b.manifestSha256]);
    expect(sha256Hex(readFileSync(join(c.dir, 'manifest.json')))).toBe(c.manifestSha256);
    const chain = await readChain(root);
    expect(chain.badLines).toEqual([]);
    expect(chain.entries.map((e) => e.entry)).toMatchObject([
      { kind: 'manifest', seq: 1, incidentId: 'inc-a', revision: 1, dir: 'inc-a/r1', manifestSha256: a.manifestSha256, previous: null },
      { kind: 'manifest', seq: 2, incidentId: 'inc-b', revision: 1, dir: 'inc-b/r1', previous: a.manifestSha256 },
      { kind: 'manifest', seq: 3, incidentId: 'inc-a', revision: 2, dir: 'inc-a/r2', previous: b.manifestSha256 },
    ]);
  });

  it('stays one unbroken chain when packages are sealed concurrently', async () => {
    const root = tempDir();
    const made = await Promise.all(Array.from({ length: 8 }, (_, i) => addPackage(root, `inc-${i}`)));
    expect(made.map((m) => m.seq).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const entries = (await readChain(root)).entries.map((e) => e.entry);
    entries.forEach((e, i) => {
      expect(e.seq).toBe(i + 1);
      if (e.kind === 'manifest') expect(e.previous).toBe(i === 0 ? null : entries[i - 1]!.manifestSha256);
    });
  });

  it('refuses a second package for the same incident revision', async () => {
    const root = tempDir();
    await addPackage(root, 'inc-a');
    await expect(addPackage(root, 'inc-a')).rejects.toMatchObject({ code: 'EVIDENCE_EXISTS' });
  });

  it('refuses to extend a chain log with a garbled line, pointing at verify', async () => {
    const root = tempDir();
    await addPackage(root, 'inc-a');
    appendFileSync(join(root, CHAIN_FILE), '{not json\n');
    await expect(addPackage(root, 'inc-b')).rejects.toMatchObject({ code: 'EVIDENCE_CHAIN_CORRUPT', message: expect.stringMatching(/line 2.*evidence verify/) });
    writeFileSync(join(root, CHAIN_FILE), readFileSync(join(root, CHAIN_FILE), 'utf8').split('\n')[0] + '\n');
    await expect(addPackage(root, 'inc-b')).resolves.toMatchObject({ seq: 2 });
  });
});
