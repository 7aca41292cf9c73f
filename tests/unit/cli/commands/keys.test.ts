import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createKeyFiles, loadKeyFiles, PRIVATE_KEY_FILE } from '../../../../dispatcher/evidence/keys.js';
import { runCli as cli } from '../../../helpers/cli.js';
import { cleanup, tempDir } from '../../../helpers/fixtures/evidence.js';

afterEach(cleanup);

describe('streetwatch keys', () => {
  it('keys init makes a private key readable only by its owner, and a matching public key', async () => {
    const dir = join(tempDir(), 'keys');
    const r = await cli('keys', 'init', '--dir', dir);
    expect(r.code, r.err).toBe(0);
    expect(statSync(join(dir, PRIVATE_KEY_FILE)).mode & 0o777).toBe(0o600);
    const keys = loadKeyFiles(dir);
    expect(r.out).toContain(keys.keyId);
    expect(r.out).not.toContain('PRIVATE KEY');
  });

  it('refuses to overwrite without --force, replaces with it', async () => {
    const dir = tempDir();
    const first = createKeyFiles(dir);
    const again = await cli('keys', 'init', '--dir', dir);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already exist.*--force/);
    expect(loadKeyFiles(dir).keyId).toBe(first.keyId);
    expect((await cli('keys', 'init', '--dir', dir, '--force')).code).toBe(0);
    expect(loadKeyFiles(dir).keyId).not.toBe(first.keyId);
  });

  it('usage errors exit 2', async () => {
    expect((await cli('keys')).code).toBe(2);
    expect((await cli('keys', 'rotate')).code).toBe(2);
    expect((await cli('keys', 'init', '--bogus')).code).toBe(2);
  });
});
