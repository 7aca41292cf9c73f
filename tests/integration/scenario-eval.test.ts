import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../core/paths.js';

const run = promisify(execFile);
const cli = (...args: string[]) => run(process.execPath, [join(PROJECT_ROOT, 'bin/streetwatch.js'), ...args], { cwd: PROJECT_ROOT, maxBuffer: 1 << 24 });

// The whole chain on a composed real scene: scenario build → eval (decode, detectors, tracker, rules, scoring).
describe('scenario build and eval', () => {
  it('builds the crates scene and scores its stacking violation as found, once', async () => {
    const out = mkdtempSync(join(tmpdir(), 'sw-scen-'));
    await cli('scenario', 'build', 'tests/scenarios/stacking-crates.yaml', '--out', out);
    for (const f of ['video.mp4', 'config.yaml', 'truth.json']) expect(existsSync(join(out, f))).toBe(true);
    const truth = JSON.parse(readFileSync(join(out, 'truth.json'), 'utf8'));
    expect(truth.items).toEqual([expect.objectContaining({ type: 'stacking', zone: 'z1', appear: 10, leave: 100, dwell: 20 })]);
    const config = parse(readFileSync(join(out, 'config.yaml'), 'utf8'));
    expect(config.cameras[0].source).toMatchObject({ kind: 'file', path: './video.mp4', realtime: false });
    await cli('validate-config', join(out, 'config.yaml'));

    const { stdout } = await cli('eval', '--config', join(out, 'config.yaml'), '--truth', join(out, 'truth.json'), '--json');
    const r = JSON.parse(stdout);
    expect(r.frames).toBe(180);
    expect(r).toMatchObject({ tp: 1, fp: 0, fn: 0, precision: 1, recall: 1 });
    expect(r.perType.stacking).toMatchObject({ precision: 1, recall: 1 });
    expect(r.meanDetectDelaySec).toBeGreaterThanOrEqual(20);
  });

  // Two of the suite's guards, from spec to score. The whole suite (18 specs) is `npm run eval`: too slow for
  // every test run, its numbers are in the README.
  it.each([
    ['negative-bench-wait', { tp: 0, fp: 0, fn: 0 }],
    ['stacking-missed-before-alert', { tp: 1, fp: 0, fn: 0 }],
  ])('%s scores as expected', async (name, want) => {
    const out = mkdtempSync(join(tmpdir(), 'sw-scen-'));
    await cli('scenario', 'build', `tests/scenarios/${name}.yaml`, '--out', out);
    const { stdout } = await cli('eval', '--config', join(out, 'config.yaml'), '--truth', join(out, 'truth.json'), '--json');
    const r = JSON.parse(stdout);
    expect(r.frames).toBeGreaterThan(100);
    expect(r, JSON.stringify(r.hits)).toMatchObject(want);
  }, 240_000);
});
