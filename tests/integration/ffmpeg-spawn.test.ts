import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ffmpeg from 'fluent-ffmpeg';
import { afterAll, describe, expect, it } from 'vitest';
import { primeFfmpegCapabilities } from '../../pipeline/ffmpeg/capabilities.js';
import { FfmpegDecoder } from '../../pipeline/ffmpeg/decoder.js';
import { SharedDecoder } from '../../pipeline/ffmpeg/shared-decoder.js';

// A real ffmpeg behind a wrapper that logs each invocation's arguments, so the test counts the processes that
// fluent-ffmpeg starts.
const dir = mkdtempSync(join(tmpdir(), 'sw-caps-'));
const log = join(dir, 'calls.log');
const wrapper = join(dir, 'ffmpeg');
const real = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();
writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${log}'\nexec '${real}' "$@"\n`);
chmodSync(wrapper, 0o755);
writeFileSync(log, '');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runOne(): Promise<void> {
  return new Promise((resolve, reject) => {
    ffmpeg()
      .setFfmpegPath(wrapper)
      .input('testsrc=size=64x36:rate=1')
      .inputOptions(['-f', 'lavfi'])
      .outputOptions(['-frames:v', '1', '-f', 'null'])
      .output('-')
      .on('end', () => resolve())
      .on('error', reject)
      .run();
  });
}

describe('primeFfmpegCapabilities', () => {
  it('lets cameras started together spawn only their own ffmpeg (one capability probe per process, not per camera)', async () => {
    await primeFfmpegCapabilities(wrapper);
    const probes = () => readFileSync(log, 'utf8').split('\n').filter((l) => /^-(formats|encoders)\b/.test(l)).length;
    expect(probes()).toBe(2);
    await Promise.all(Array.from({ length: 6 }, () => runOne()));
    const calls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    expect(calls.filter((l) => l.includes('testsrc'))).toHaveLength(6);
    expect(probes()).toBe(2);
    // a second prime is the same promise: no new probe
    await primeFfmpegCapabilities(wrapper);
    expect(probes()).toBe(2);
  });
});

describe('spawning in turns', () => {
  const runs = () => readFileSync(log, 'utf8').split('\n').filter((l) => l.includes(' -i ')).length;

  it('a camera decoder stopped before its turn never spawns, and its exit still resolves', async () => {
    await primeFfmpegCapabilities(wrapper);
    const before = runs();
    const dec = new FfmpegDecoder({
      spec: { input: { kind: 'file', path: join(dir, 'none.mp4'), loop: false, realtime: false }, sampling: { mode: 'keyframes', minIntervalSec: 0 }, frame: { width: 64, height: 36 } },
      ffmpegPath: wrapper,
      onFrame: () => undefined,
    });
    dec.start();
    const exit = await dec.stop();
    expect(exit).toMatchObject({ code: null, signal: null, stoppedByUs: true, frames: 0 });
    expect(dec.pid).toBeUndefined();
    await new Promise((r) => setTimeout(r, 50));
    expect(runs()).toBe(before);
  });

  it('a shared decoder stopped before its turn never spawns, and its exit still resolves', async () => {
    const before = runs();
    const dec = new SharedDecoder({ width: 64, height: 36 }, { ffmpegPath: wrapper });
    dec.start();
    await dec.stop();
    await expect(dec.exited).resolves.toMatchObject({ code: null, signal: null });
    expect(runs()).toBe(before);
  });
});
