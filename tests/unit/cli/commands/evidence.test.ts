import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createKeyFiles, loadKeyFiles } from '../../../../dispatcher/evidence/keys.js';
import { runCli as cli } from '../../../helpers/cli.js';
import { addPackage, cleanup, tempDir } from '../../../helpers/fixtures/evidence.js';

afterEach(cleanup);

describe('streetwatch evidence', () => {
  it('usage errors exit 2', async () => {
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
