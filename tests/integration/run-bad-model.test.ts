import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveAsset } from '../../core/assets.js';
import { killRuns, startRun, type RunProcess } from '../helpers/cli.js';
import { ffmpegByCamera } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

// `streetwatch run` as an operator meets a bad model file: the real CLI, real ffmpeg, the real YOLOX-Nano
// file, and a corrupted copy of it put first on the asset path (STREETWATCH_ASSETS), as a botched copy or a
// truncated download would be.
const video = resolveAsset('oxford_towncentre_pedestrians.mp4');
const realModel = resolveAsset('yolox_nano_416.onnx');
const TOKEN = 'run-bad-model-test-token';
const auth = { headers: { authorization: `Bearer ${TOKEN}` } };

function camera(id: string, detector: string): string {
  return `
  - id: ${id}
    source: { kind: file, path: ${video}, loop: true, realtime: true }
    sampling: { mode: fps, fps: 2 }
    frame: { width: 160, height: 90 }
    detectors: [{ id: ${detector} }]`;
}

/** A config folder and an asset folder holding a corrupted yolox_nano_416.onnx (same size, bytes flipped). */
function scene(cams: string[]): { dir: string; configFile: string; badFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sw-bad-model-'));
  const assets = join(dir, 'assets');
  mkdirSync(assets);
  const bytes = readFileSync(realModel);
  for (let k = bytes.length >> 1; k < (bytes.length >> 1) + 64; k++) bytes[k] = bytes[k]! ^ 0xff;
  const badFile = join(assets, 'yolox_nano_416.onnx');
  writeFileSync(badFile, bytes);
  const configFile = join(dir, 'streetwatch.yaml');
  writeFileSync(configFile, `version: 1\nstorage: { dataDir: ./data }\nhttp: { port: 0 }\nconsole: { tokens: [{ name: test, role: command, token: ${TOKEN} }] }\ncameras:${cams.join('')}\n`);
  return { dir, configFile, badFile };
}

afterAll(killRuns);

/** The real CLI on the scene, with the scene's asset folder (holding the corrupted model) first on the asset path. */
const startBadRun = (s: { dir: string; configFile: string }): RunProcess => startRun(s.configFile, { cwd: s.dir, env: { ...process.env, STREETWATCH_ASSETS: join(s.dir, 'assets') } });

async function cameras(run: RunProcess): Promise<{ id: string; state: string; frames?: number; lastError?: { code: string; message: string } }[]> {
  return (await fetch(`${run.url()}/api/cameras`, auth)).json() as never;
}

async function metric(run: RunProcess, re: RegExp): Promise<number | undefined> {
  const m = re.exec(await (await fetch(`${run.url()}/metrics`)).text());
  return m ? Number(m[1]) : undefined;
}

describe('streetwatch run with a bad model file', () => {
  it('runs the other camera, reports the bad one failed with MODEL_HASH_MISMATCH, and starts it on SIGHUP once the file is fixed', async () => {
    const s = scene([camera('cam-good', 'static-object'), camera('cam-bad', 'yolox-nano-416')]);
    const run = startBadRun(s);
    await run.running();

    expect(run.lines.find((l) => l.msg === 'streetwatch running')).toMatchObject({ failed: ['cam-bad'] });
    const bad = (await cameras(run)).find((c) => c.id === 'cam-bad');
    expect(bad).toMatchObject({ state: 'failed', lastError: { code: 'MODEL_HASH_MISMATCH', message: expect.stringContaining(s.badFile) } });
    expect(await metric(run, /streetwatch_camera_failed\{camera="cam-bad",code="MODEL_HASH_MISMATCH"\} (\d+)/)).toBe(1);
    // the operator's log line: which camera, which file, and what to do
    const logged = run.lines.find((l) => l.camera === 'cam-bad' && l.level === 50 && l.code === 'MODEL_HASH_MISMATCH');
    expect(logged).toMatchObject({ file: s.badFile, msg: expect.stringContaining('SIGHUP') });
    expect(String(logged!.msg)).toContain('fetch-assets');

    // the good camera is decoded and its frames go through its detector
    await waitFor(async () => (await metric(run, /streetwatch_frames_detected_total\{camera="cam-good",detector="static-object",result="ok"\} (\d+)/) ?? 0) > 0, 60_000, "cam-good's frames detected");
    expect((await cameras(run)).find((c) => c.id === 'cam-good')?.state).toBe('up');
    expect(((await (await fetch(`${run.url()}/healthz`)).json()) as { cameras: { failed: number; up: number } }).cameras).toMatchObject({ failed: 1, up: 1 });
    const ff = await ffmpegByCamera(run.proc.pid!);
    expect(ff.has('cam-bad')).toBe(false);
    const pidGood = ff.get('cam-good');
    expect(pidGood).toBeGreaterThan(0);

    // the operator puts the right file in place and reloads
    copyFileSync(realModel, s.badFile);
    run.proc.kill('SIGHUP');
    await waitFor(async () => (await cameras(run)).find((c) => c.id === 'cam-bad')?.state === 'up', 60_000, 'cam-bad started after the reload');
    await waitFor(
      async () => (await metric(run, /streetwatch_frames_detected_total\{camera="cam-bad",detector="yolox-nano-416",result="ok"\} (\d+)/) ?? 0) > 0,
      60_000,
      "cam-bad's frames through YOLOX-Nano",
    );
    expect(await metric(run, /streetwatch_camera_failed\{camera="cam-bad"[^}]*\} (\d+)/)).toBeUndefined();
    expect((await ffmpegByCamera(run.proc.pid!)).get('cam-good')).toBe(pidGood);
    expect(run.lines.find((l) => l.msg === 'config reloaded')).toMatchObject({ why: 'SIGHUP', added: ['cam-bad'], unchanged: ['cam-good'], failed: [] });

    run.proc.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
  });

  it('a SIGHUP while the models are still loading does not kill it: the reload runs once it is up', async () => {
    const s = scene([camera('cam-bad', 'yolox-nano-416')]);
    const run = startBadRun(s);
    // the first log line comes from the dispatch stage, before the cameras' models are loaded
    await waitFor(() => run.lines.length > 0, 30_000, 'the first log line');
    copyFileSync(realModel, s.badFile);
    run.proc.kill('SIGHUP');
    await run.running();
    await waitFor(() => run.lines.some((l) => l.msg === 'config reloaded'), 30_000, 'the reload asked for while starting');
    await waitFor(async () => (await cameras(run)).find((c) => c.id === 'cam-bad')?.state === 'up', 60_000, 'cam-bad up');
    run.proc.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
  });

  it('with no camera able to start, keeps the console up and says so', async () => {
    const s = scene([camera('cam-bad', 'yolox-nano-416')]);
    const run = startBadRun(s);
    await run.running();
    expect(run.lines.find((l) => String(l.msg).startsWith('no camera is running'))).toMatchObject({ level: 50, failed: ['cam-bad'] });
    expect(((await (await fetch(`${run.url()}/healthz`)).json()) as { cameras: unknown }).cameras).toMatchObject({ total: 1, failed: 1 });
    expect((await cameras(run)).map((c) => [c.id, c.state, c.lastError?.code])).toEqual([['cam-bad', 'failed', 'MODEL_HASH_MISMATCH']]);
    run.proc.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
  });
});
