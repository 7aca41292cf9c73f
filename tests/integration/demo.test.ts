import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoScene, DEMO_SCENE_SPEC } from '../../cli/commands/demo.js';
import { loadConfig } from '../../config/loader.js';
import { PROJECT_ROOT } from '../../core/paths.js';
import type { Truth } from '../../pipeline/scenario/build.js';

const run = promisify(execFile);
const cli = (...args: string[]) => run(process.execPath, [join(PROJECT_ROOT, 'bin/streetwatch.js'), ...args], { cwd: PROJECT_ROOT, maxBuffer: 1 << 24 });

// What `npm start` plays: the demo scene built from config/demo-scene.yaml (real ffmpeg), then scored by the
// real pipeline (YOLOX-Nano and the static-object detector) — the demo's incidents are found, not scripted.
describe('the demo scene', () => {
  let dir = '';
  let out = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sw-demo-'));
    out = join(dir, 'scene');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true })); // 35 MB of video

  it('builds once into a valid looped-camera video with one violation of each kind, then is reused', async () => {
    expect(await ensureDemoScene(DEMO_SCENE_SPEC, out)).toBe(true);
    for (const f of ['video.mp4', 'config.yaml', 'truth.json', 'spec.sha256']) expect(existsSync(join(out, f)), f).toBe(true);

    const probe = JSON.parse(
      (await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,has_b_frames:format=duration', '-of', 'json', join(out, 'video.mp4')])).stdout,
    );
    expect(probe.streams[0]).toMatchObject({ codec_name: 'h264', width: 960, height: 540, has_b_frames: 0 });
    expect(Number(probe.format.duration)).toBeCloseTo(180, 0);

    const truth = JSON.parse(readFileSync(join(out, 'truth.json'), 'utf8')) as Truth;
    expect(truth.camera).toBe('oxford-demo');
    expect(truth.items.map((i) => `${i.type}@${i.zone}`).sort()).toEqual(['door_front@gap-frontage', 'stacking@east-pavement', 'stall@street-centre']);
    expect(truth.distractors).toHaveLength(1); // the stall's vendor
    // staggered, so the console shows them arriving one by one
    expect(new Set(truth.items.map((i) => i.appear)).size).toBe(3);
    await loadConfig(join(out, 'config.yaml'));

    const mtime = statSync(join(out, 'video.mp4')).mtimeMs;
    expect(await ensureDemoScene(DEMO_SCENE_SPEC, out)).toBe(false);
    expect(statSync(join(out, 'video.mp4')).mtimeMs).toBe(mtime);
  }, 600_000);

  it('is detected by the real pipeline: each violation once, within a minute of the start, nothing else', async () => {
    const { stdout } = await cli('eval', '--config', join(out, 'config.yaml'), '--truth', join(out, 'truth.json'), '--json');
    const r = JSON.parse(stdout);
    expect(r.frames).toBe(360);
    expect(r, JSON.stringify(r.hits)).toMatchObject({ tp: 3, fp: 0, fn: 0 });
    expect(r.hits.map((h: { type: string }) => h.type).sort()).toEqual(['door_front', 'stacking', 'stall']);
    for (const h of r.hits) expect(h.atSec, h.type).toBeLessThanOrEqual(60);
  }, 300_000);
});

describe('ensureDemoScene', () => {
  it('rebuilds when the spec changes, and leaves no half-built folder behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sw-demo-spec-'));
    const spec = join(dir, 'spec.yaml');
    const out = join(dir, 'scene');
    // what a Ctrl-C during a first build leaves: the folder of a process that is gone
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    mkdirSync(`${out}.building-${gone}`);
    const write = (leave: number) =>
      writeFileSync(
        spec,
        `background: asset:oxford_towncentre_pedestrians.mp4\nduration: 2\ncamera: { id: cam }\n` +
          `objects:\n  - { image: asset:perth_fruit_market_stall.jpg, crop: [0, 520, 300, 200], at: [0.5, 0.9], width: 0.1, appear: 0.5, leave: ${leave} }\n`,
      );
    write(1.5);
    expect(await ensureDemoScene(spec, out)).toBe(true);
    expect(await ensureDemoScene(spec, out)).toBe(false);
    const first = readFileSync(join(out, 'truth.json'), 'utf8');
    write(1.8);
    expect(await ensureDemoScene(spec, out)).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'truth.json'), 'utf8')).distractors[0].leave).toBe(1.8);
    expect(readFileSync(join(out, 'truth.json'), 'utf8')).not.toBe(first);
    expect(readFileSync(join(out, 'spec.sha256'), 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(existsSync(`${out}.building-${process.pid}`)).toBe(false);
    expect(existsSync(`${out}.building-${gone}`)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });

  it('`streetwatch demo --help` documents the command', async () => {
    const { stdout } = await cli('demo', '--help');
    expect(stdout).toMatch(/usage: streetwatch demo \[--port N\]/);
    expect((await cli('--help')).stdout).toMatch(/^ {2}demo /m);
  });
});
