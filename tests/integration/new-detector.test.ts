import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assetSearchPath } from '../../core/assets.js';
import { PROJECT_ROOT } from '../../core/paths.js';

const exec = promisify(execFile);

/**
 * `streetwatch new-detector` scaffolds into a copy of the parts of the project a plug-in touches (never into
 * this checkout's detectors/index.ts); the scaffold must type-check and pass the shared contract suite there,
 * as the algorithms team would see it on day one.
 */
describe('streetwatch new-detector', () => {
  let root: string;
  // The copy has no ../shared beside it: point the asset resolver at this checkout's folders.
  const env = { ...process.env, STREETWATCH_ASSETS: assetSearchPath().join(delimiter) };
  const scaffold = (...args: string[]) => exec(process.execPath, [join(PROJECT_ROOT, 'bin/streetwatch.js'), 'new-detector', ...args, '--root', root], { env });

  async function vitest(file: string): Promise<{ numFailedTests: number; numPassedTests: number; testResults: { assertionResults: { fullName: string; status: string }[] }[] }> {
    const report = join(root, 'report.json');
    rmSync(report, { force: true });
    await exec(join(root, 'node_modules/.bin/vitest'), ['run', file, '--reporter=json', `--outputFile=${report}`], { cwd: root, env, maxBuffer: 1 << 24 }).catch((e: unknown) => {
      // A failing run exits 1 and still writes its report, which is what the caller looks at.
      if (!existsSync(report)) throw e;
    });
    return JSON.parse(readFileSync(report, 'utf8'));
  }

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'sw-newdet-'));
    for (const p of ['detectors', 'core', 'models', 'tests/contract', 'tsconfig.json', 'package.json', 'vitest.config.ts']) {
      cpSync(join(PROJECT_ROOT, p), join(root, p), { recursive: true });
    }
    symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes the detector, its README and its contract test, and registers it under the marker', async () => {
    const { stdout } = await scaffold('crate-finder');
    for (const f of ['detectors/crate-finder/index.ts', 'detectors/crate-finder/README.md', 'tests/contract/crate-finder.test.ts']) {
      expect(stdout).toContain(f);
      expect(existsSync(join(root, f))).toBe(true);
    }
    const index = readFileSync(join(root, 'detectors/index.ts'), 'utf8');
    const marker = index.indexOf('// new-detector: registrations below this line');
    const line = index.indexOf("registry.register('crate-finder', () => import('./crate-finder/index.js'), { source: 'plugin'");
    expect(marker).toBeGreaterThan(0);
    expect(line).toBeGreaterThan(marker);
    expect(line).toBeLessThan(index.indexOf('return registry', marker));
    expect(readFileSync(join(root, 'detectors/crate-finder/index.ts'), 'utf8')).toContain("id: 'crate-finder'");
    expect(readFileSync(join(root, 'detectors/crate-finder/README.md'), 'utf8')).toMatch(/\{ id: crate-finder, mode: shadow/);
  });

  it('a second plug-in is registered after the first', async () => {
    await scaffold('sack-finder');
    const index = readFileSync(join(root, 'detectors/index.ts'), 'utf8');
    expect(index.indexOf("register('sack-finder'")).toBeGreaterThan(index.indexOf("register('crate-finder'"));
  });

  it('the scaffold passes the shared contract suite and its own tests', async () => {
    const report = await vitest('tests/contract/crate-finder.test.ts');
    const names = report.testResults.flatMap((r) => r.assertionResults.map((a) => `${a.status} ${a.fullName}`));
    expect(report.numFailedTests, names.join('\n')).toBe(0);
    expect(report.numPassedTests).toBeGreaterThanOrEqual(12);
    expect(names).toContain('passed detector contract: crate-finder returns one list per frame, in order, for a batch of maxBatch (at most 4) frames');
    expect(names).toContain('passed crate-finder reports a bright patch on a dark frame, where it is');
  });

  it('the project copy type-checks with the scaffold in it (tsc --noEmit, strict)', async () => {
    const r = await exec(join(root, 'node_modules/.bin/tsc'), ['--noEmit', '-p', '.'], { cwd: root, env }).catch((e: { stdout: string; code: number }) => e);
    expect('code' in r ? r.stdout : '').toBe('');
  });

  it('the suite catches a scaffold that breaks the contract', async () => {
    const file = join(root, 'detectors/sack-finder/index.ts');
    const src = readFileSync(file, 'utf8');
    // A label the manifest does not declare: the host would refuse every result, so the suite must too.
    const broken = src.replace("label: 'bright_region' }]", "label: 'sack' }]");
    expect(broken).not.toBe(src);
    writeFileSync(file, broken);
    const report = await vitest('tests/contract/sack-finder.test.ts');
    expect(report.numFailedTests).toBeGreaterThanOrEqual(4);
    const failed = report.testResults.flatMap((r) => r.assertionResults.filter((a) => a.status === 'failed').map((a) => a.fullName));
    expect(failed).toContain('detector contract: sack-finder returns one list for one frame');
  });

  it('refuses an id that exists, or a bad id, and leaves the tree as it was', async () => {
    const before = readFileSync(join(root, 'detectors/index.ts'), 'utf8');
    for (const id of ['crate-finder', 'yolox-nano-416', 'onnx', 'warehouse']) {
      await expect(scaffold(id), id).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('already exists') });
    }
    for (const id of ['Crate-Finder', 'crate_finder', '../escape', '9lives', 'crate--finder', 'x'.repeat(41)]) {
      await expect(scaffold(id), id).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('is not allowed') });
    }
    expect(readFileSync(join(root, 'detectors/index.ts'), 'utf8')).toBe(before);
    expect(existsSync(join(root, 'detectors/crate_finder'))).toBe(false);
    await expect(exec(process.execPath, [join(PROJECT_ROOT, 'bin/streetwatch.js'), 'new-detector', '--root', root])).rejects.toMatchObject({ code: 2 });
  });
});
