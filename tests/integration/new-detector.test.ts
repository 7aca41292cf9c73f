import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { assetSearchPath } from '../../core/assets.js';
import { PROJECT_ROOT } from '../../core/paths.js';

const run = promisify(execFile);

// `streetwatch new-detector` scaffolds into a copy of the project; the scaffold must type-check and pass the
// shared contract suite there, as the algorithms team would see it on day one.
describe('streetwatch new-detector', () => {
  it('scaffolds a detector that type-checks, is registered, and passes the contract suite', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sw-newdet-'));
    const { stdout: files } = await run('git', ['ls-files'], { cwd: PROJECT_ROOT });
    for (const f of files.split('\n').filter(Boolean)) {
      mkdirSync(dirname(join(root, f)), { recursive: true });
      copyFileSync(join(PROJECT_ROOT, f), join(root, f));
    }
    symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'));
    const env = { ...process.env, STREETWATCH_ASSETS: assetSearchPath().join(':') };

    const { stdout } = await run(process.execPath, [join(PROJECT_ROOT, 'bin/streetwatch.js'), 'new-detector', 'crate-finder', '--root', root], { env });
    expect(stdout).toContain('detectors/crate-finder/index.ts');
    expect(readFileSync(join(root, 'detectors/index.ts'), 'utf8')).toContain("registry.register('crate-finder', () => import('./crate-finder/index.js')");

    await run(join(root, 'node_modules/.bin/tsc'), ['--noEmit', '-p', '.'], { cwd: root, env });
    const test = await run(join(root, 'node_modules/.bin/vitest'), ['run', 'tests/contract/crate-finder.test.ts', '--reporter=json'], { cwd: root, env, maxBuffer: 1 << 24 });
    const report = JSON.parse(test.stdout);
    expect(report.numFailedTests).toBe(0);
    expect(report.numPassedTests).toBeGreaterThanOrEqual(4);

    // the new detector is in the warehouse listing of that copy
    const { stdout: list } = await run(process.execPath, [join(root, 'bin/streetwatch.js'), 'detectors', '--json'], { cwd: root, env });
    expect(JSON.parse(list).map((d: { id: string }) => d.id)).toContain('crate-finder');

    // a second scaffold with the same id, or a bad id, is refused
    await expect(run(process.execPath, [join(PROJECT_ROOT, 'bin/streetwatch.js'), 'new-detector', 'crate-finder', '--root', root])).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('already exists') });
    await expect(run(process.execPath, [join(PROJECT_ROOT, 'bin/streetwatch.js'), 'new-detector', 'Bad_Id', '--root', root])).rejects.toMatchObject({ code: 1 });
  });
});
