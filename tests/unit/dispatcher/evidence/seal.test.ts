import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CHAIN_FILE } from '../../../../dispatcher/evidence/chain.js';
import { sealPackage } from '../../../../dispatcher/evidence/seal.js';
import { verifyEvidence } from '../../../../dispatcher/evidence/verify.js';
import { addPackage, cleanup, KEYS, tempDir } from '../../../helpers/fixtures/evidence.js';

/**
 * The chain line is the last write of a package. On a full disk it can fail after writing part of the line
 * (faked here: half the line, then ENOSPC): the package must be undone — chain as before, folder back in
 * staging — so the chain is not corrupt and the same revision can be sealed once there is room.
 */

const fake = vi.hoisted(() => ({ failNext: false }));

vi.mock('../../../../dispatcher/evidence/chain.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../../dispatcher/evidence/chain.js')>();
  return {
    ...real,
    appendChain: async (root: string, entry: Parameters<typeof real.appendChain>[1]) => {
      if (!fake.failNext) return real.appendChain(root, entry);
      fake.failNext = false;
      const line = JSON.stringify(entry);
      appendFileSync(join(root, real.CHAIN_FILE), line.slice(0, line.length >> 1));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    },
  };
});

afterEach(cleanup);

const stage = (root: string, name: string) => {
  const dir = join(root, '.staging', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'meta.json'), '{"incidentId":"inc-b"}');
  writeFileSync(join(dir, 'still-latest.png'), 'still');
  return dir;
};

describe('sealPackage when the chain line cannot be written', () => {
  it.each([
    ['after other packages', true],
    ['as the first package of the root', false],
  ])('undoes the package %s: chain as before, no folder in place, the revision can be sealed again', async (_what, earlier) => {
    const root = tempDir();
    if (earlier) await addPackage(root, 'inc-a');
    const chainBefore = existsSync(join(root, CHAIN_FILE)) ? readFileSync(join(root, CHAIN_FILE), 'utf8') : undefined;
    const staging = stage(root, 'inc-b-r1-0001');

    fake.failNext = true;
    await expect(sealPackage({ root, staging, incidentId: 'inc-b', revision: 1, keys: KEYS, timezone: 'Asia/Shanghai' })).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(existsSync(join(root, CHAIN_FILE)) ? readFileSync(join(root, CHAIN_FILE), 'utf8') : undefined, 'chain.jsonl').toBe(chainBefore);
    expect(existsSync(join(root, 'inc-b', 'r1')), 'package left in place').toBe(false);
    expect(existsSync(staging), 'the files are back in staging, for the caller to remove').toBe(true);

    const again = await sealPackage({ root, staging: stage(root, 'inc-b-r1-0002'), incidentId: 'inc-b', revision: 1, keys: KEYS, timezone: 'Asia/Shanghai' });
    expect(again.seq).toBe(earlier ? 2 : 1);
    const verified = await verifyEvidence(root, KEYS.publicKeyPem);
    expect(verified.problems).toEqual([]);
    expect(verified).toMatchObject({ ok: true, checked: { packages: earlier ? 2 : 1 } });
  });
});
