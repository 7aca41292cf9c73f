import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../core/paths.js';

/**
 * tests/unit mirrors the source tree, so the tests of a module are found without searching:
 * `tests/unit/<folder>/<module>.test.ts` tests `<folder>/<module>.ts`. A module whose tests need a module mock
 * of their own (vi.mock holds for a whole file) may have a second file `<module>.<aspect>.test.ts`. A test of a
 * data file the folder ships names it the same way (`config/example.test.ts` checks `config/example.yaml`).
 * Helpers, builders and fixtures live in tests/helpers/, never here.
 */

/** Unit test files that test no single source module, and why. Keep it short. */
const EXCEPTIONS: Record<string, string> = {
  'layout.test.ts': 'this check: it tests the tests/unit tree itself',
};

/** What a module may be: TypeScript source, or a data file of its folder that a test checks. */
const MODULE_EXTENSIONS = ['.ts', '.yaml'];

/** The source folders are the ones the type check covers, less the tests themselves. */
const SOURCE_FOLDERS = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] }).include.filter(
  (p) => p !== 'tests' && !p.includes('.'),
);

/** Every file under `dir`, as paths relative to it with forward slashes. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(dir, posix.join(prefix, e.name)) : [posix.join(prefix, e.name)],
  );
}

/** The files under tests/unit (paths relative to it) that break the mirror, each with what is wrong. */
function misplaced(files: string[], exists: (repoPath: string) => boolean): string[] {
  const out: string[] = [];
  for (const f of files) {
    if (f in EXCEPTIONS) continue;
    if (!f.endsWith('.test.ts')) {
      out.push(`${f}: not a test; helpers, builders and fixtures belong under tests/helpers/`);
      continue;
    }
    const folder = posix.dirname(f);
    const module = posix.basename(f, '.test.ts').split('.')[0]!;
    const candidates = MODULE_EXTENSIONS.map((ext) => posix.join(folder, module + ext));
    if (!SOURCE_FOLDERS.includes(folder.split('/')[0]!) || !candidates.some(exists)) {
      out.push(`${f}: no source module ${candidates[0]} (move it next to the module it tests, or list it in EXCEPTIONS with why)`);
    }
  }
  return out;
}

describe('tests/unit mirrors the source tree', () => {
  const unit = join(PROJECT_ROOT, 'tests', 'unit');
  const inRepo = (p: string) => existsSync(join(PROJECT_ROOT, p));

  it('every unit test file sits at <source folder>/<module>.test.ts of the module it tests', () => {
    expect(misplaced(filesUnder(unit), inRepo)).toEqual([]);
  });

  it('every exception is still there (a stale one would hide nothing but mislead)', () => {
    expect(Object.keys(EXCEPTIONS).filter((f) => !existsSync(join(unit, f)))).toEqual([]);
  });

  it('the check can fail: a test beside the wrong folder, one named after no module, a fixture module', () => {
    expect(SOURCE_FOLDERS).toEqual(expect.arrayContaining(['core', 'config', 'pipeline', 'dispatcher', 'cli']));
    expect(
      misplaced(
        [
          'pipeline/telemetry/feed.test.ts',
          'pipeline/sources/telemetry/feed.test.ts',
          'core/redact-query.test.ts',
          'dispatcher/evidence/packager.settle.test.ts',
          'config/example.test.ts',
          'dispatcher/incidents/fixtures.ts',
          'helpers/wait.test.ts',
        ],
        inRepo,
      ).map((p) => p.split(':')[0]),
    ).toEqual(['pipeline/telemetry/feed.test.ts', 'core/redact-query.test.ts', 'dispatcher/incidents/fixtures.ts', 'helpers/wait.test.ts']);
  });
});
