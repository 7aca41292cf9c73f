import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../../cli/main.js';
import { createKeyFiles, loadKeyFiles, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE } from '../../../../dispatcher/evidence/keys.js';
import { addPackage, cleanup, tempDir } from '../../../helpers/fixtures/evidence.js';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

/** Runs the CLI in-process, capturing what it prints. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await main(argv), out, err };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('evidence keys', () => {
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

  it('a mismatched pair or a missing key is a clear error', async () => {
    const a = tempDir();
    const b = tempDir();
    createKeyFiles(a);
    createKeyFiles(b);
    writeFileSync(join(a, PUBLIC_KEY_FILE), (await import('node:fs')).readFileSync(join(b, PUBLIC_KEY_FILE)));
    expect(() => loadKeyFiles(a)).toThrow(expect.objectContaining({ code: 'KEY_INVALID' }));
    expect(() => loadKeyFiles(join(a, 'none'))).toThrow(expect.objectContaining({ code: 'KEY_NOT_FOUND', message: expect.stringContaining('keys init') }));
    expect(existsSync(join(a, 'none'))).toBe(false);
  });

  it('keys and evidence usage errors exit 2', async () => {
    expect((await cli('keys')).code).toBe(2);
    expect((await cli('keys', 'rotate')).code).toBe(2);
    expect((await cli('keys', 'init', '--bogus')).code).toBe(2);
    expect((await cli('evidence', 'verify')).code).toBe(2);
    expect((await cli('evidence', 'check', '/tmp')).code).toBe(2);
    expect((await cli('evidence', 'verify', tempDir(), '--key', '/nonexistent.pub')).code).toBe(2);
  });

  it('evidence verify prints one line per problem naming the file', async () => {
    const dir = tempDir();
    const made = createKeyFiles(join(dir, 'keys'));
    const keys = loadKeyFiles(join(dir, 'keys'));
    const root = join(dir, 'evidence');
    const p = await addPackage(root, 'inc-1', 1, undefined, { keys });
    const ok = await cli('evidence', 'verify', root, '--key', made.publicPath);
    expect(ok.code, ok.out + ok.err).toBe(0);
    writeFileSync(join(p.dir, 'clip.mp4'), 'x');
    const bad = await cli('evidence', 'verify', root, '--key', made.publicPath);
    expect(bad.code).toBe(1);
    expect(bad.out.split('\n')[0]).toMatch(/^CHANGED\s+inc-1\/r1\/clip\.mp4: /);
    const json = await cli('evidence', 'verify', p.dir, '--key', made.publicPath, '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({ ok: false, problems: [{ item: 'clip.mp4', problem: 'changed' }] });
  });
});
