#!/usr/bin/env node
// `npm test`: type-check, then every vitest test (unit and integration), then one plain closing line
// "N passed, N failed, N skipped" that CI reads. Extra arguments go to vitest (e.g. `npm test -- tests/unit`).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const args = process.argv.slice(2);

if (!process.env.STREETWATCH_SKIP_TYPECHECK) {
  const tsc = spawnSync(bin('tsc'), ['--noEmit', '-p', '.'], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) {
    console.error('type check failed (tsc --noEmit)');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

mkdirSync(join(root, 'tmp'), { recursive: true });
const report = join(root, 'tmp', 'vitest-report.json');
rmSync(report, { force: true });
const vitest = spawnSync(bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args], {
  cwd: root,
  stdio: 'inherit',
});
let summary;
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  // A suite that fails outside any test (an import error, a failing hook) counts as one failure.
  const suiteOnly = r.numFailedTests === 0 && (r.numFailedTestSuites ?? 0) > 0 ? 1 : 0;
  summary = { passed: r.numPassedTests, failed: r.numFailedTests + suiteOnly, skipped: r.numPendingTests + (r.numTodoTests ?? 0) };
} catch {
  summary = { passed: 0, failed: 1, skipped: 0 };
}
console.log(`\n${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
process.exit(vitest.status === 0 && summary.failed === 0 ? 0 : 1);
