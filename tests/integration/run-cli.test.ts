import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveAsset } from '../../core/assets.js';
import { killRuns, startRun, type RunProcess } from '../helpers/cli.js';
import { ffmpegByCamera } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

// `streetwatch run` as an operator runs it: a real process, real ffmpeg children, config edits while it runs.
const video = resolveAsset('oxford_towncentre_pedestrians.mp4');
const dir = mkdtempSync(join(tmpdir(), 'sw-run-'));
const configFile = join(dir, 'streetwatch.yaml');

function camera(id: string, fps: number): string {
  return `
  - id: ${id}
    source: { kind: file, path: ${video}, loop: true, realtime: true }
    sampling: { mode: fps, fps: ${fps} }
    frame: { width: 160, height: 90 }`;
}
const TOKEN = 'run-cli-test-command-token';
const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
function writeConfig(cams: string[], extra = ''): void {
  writeFileSync(configFile, `version: 1\nstorage: { dataDir: ./data }\nhttp: { port: 0 }\nconsole: { tokens: [{ name: test, role: command, token: ${TOKEN} }] }\n${extra}cameras:${cams.join('')}\n`);
}

let run: RunProcess;

afterAll(killRuns);

async function cameras(): Promise<{ id: string; state: string; frames: number; since: number }[]> {
  return (await fetch(`${run.url()}/api/cameras`, auth)).json() as never;
}

const ffmpegs = () => ffmpegByCamera(run.proc.pid!);

describe('streetwatch run', () => {
  it('runs, serves metrics, reloads cameras without touching the others, rejects a bad config, stops cleanly', async () => {
    writeConfig([camera('cam-a', 2)]);
    run = startRun(configFile, { cwd: dir });
    await run.running(20_000);

    await waitFor(async () => (await cameras()).some((c) => c.id === 'cam-a' && c.state === 'up'), 20_000, 'cam-a up');
    const metrics = await (await fetch(`${run.url()}/metrics`)).text();
    expect(metrics).toMatch(/streetwatch_frames_decoded_total\{camera="cam-a"\} \d+/);
    expect(metrics).toMatch(/streetwatch_camera_up\{camera="cam-a"\} 1/);
    expect(((await (await fetch(`${run.url()}/healthz`)).json()) as { ok: boolean }).ok).toBe(true);
    // the embedded store answers (nothing to report on plain street video)
    expect(await (await fetch(`${run.url()}/api/incidents`, auth)).json()).toEqual({ items: [] });
    expect(await (await fetch(`${run.url()}/api/false-positives`, auth)).json()).toEqual([]);
    expect((await fetch(`${run.url()}/api/incidents`)).status).toBe(401);
    // the console's web app is served by the same process
    expect(await (await fetch(`${run.url()}/`)).text()).toContain('<html');
    const pidA = (await ffmpegs()).get('cam-a');
    expect(pidA).toBeGreaterThan(0);

    // add a camera by editing the file
    writeConfig([camera('cam-a', 2), camera('cam-b', 2)]);
    await waitFor(async () => (await cameras()).some((c) => c.id === 'cam-b' && c.state === 'up'), 20_000, 'cam-b added and up');
    expect((await ffmpegs()).get('cam-a')).toBe(pidA);

    // an invalid config is rejected and everything keeps running
    const valid = readFileSync(configFile, 'utf8');
    writeFileSync(configFile, valid.replace('sampling: { mode: fps, fps: 2 }', 'sampling: { mode: fps, fps: 2, colour: true }'));
    await waitFor(() => run.lines.some((l) => String(l.msg).startsWith('new config rejected')), 20_000, 'the rejection in the log');
    const rejected = run.lines.find((l) => String(l.msg).startsWith('new config rejected'))!;
    expect(JSON.stringify(rejected)).toContain('colour');
    expect((await cameras()).map((c) => c.id).sort()).toEqual(['cam-a', 'cam-b']);
    expect((await ffmpegs()).get('cam-a')).toBe(pidA);

    // change cam-b and remove nothing, applied on SIGHUP too: only cam-b restarts
    const pidB = (await ffmpegs()).get('cam-b');
    writeConfig([camera('cam-a', 2), camera('cam-b', 1)]);
    run.proc.kill('SIGHUP');
    await waitFor(async () => {
      const b = (await ffmpegs()).get('cam-b');
      return b !== undefined && b !== pidB;
    }, 20_000, 'cam-b restarted with its new settings');
    expect((await ffmpegs()).get('cam-a')).toBe(pidA);

    // remove cam-b: its ffmpeg goes away, cam-a stays
    writeConfig([camera('cam-a', 2)]);
    await waitFor(async () => (await cameras()).length === 1, 20_000, 'cam-b removed');
    await waitFor(async () => !(await ffmpegs()).has('cam-b'), 10_000, "cam-b's ffmpeg gone");
    expect((await ffmpegs()).get('cam-a')).toBe(pidA);
    const after = await (await fetch(`${run.url()}/metrics`)).text();
    expect(after).toMatch(/streetwatch_config_reloads_total\{result="rejected"\} 1/);
    expect(after).not.toMatch(/streetwatch_camera_up\{camera="cam-b"\}/);

    // SIGTERM: clean exit, no ffmpeg left behind (neither orphan nor zombie)
    const children = [...(await ffmpegs()).values()];
    run.proc.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
    for (const pid of children) expect(existsSync(`/proc/${pid}`), `ffmpeg ${pid} still exists`).toBe(false);
  });
});
