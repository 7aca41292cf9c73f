import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../core/paths.js';
import { probeSource } from '../../pipeline/probe.js';
import { ensureTestClip } from '../helpers/media.js';
import { startRtspServer, type RtspTestServer } from '../helpers/rtsp-server.js';

const run = promisify(execFile);
let server: RtspTestServer;

beforeAll(async () => {
  const clip = await ensureTestClip({ seconds: 10, width: 640, height: 360, fps: 25, gop: 50 });
  server = await startRtspServer({ mounts: { '/gop50': clip }, loop: true });
});
afterAll(async () => server?.stop());

describe('probe on a live RTSP camera', () => {
  it('measures the GOP from packets (50 frames / 2 s) and finds keyframe sampling suitable', async () => {
    const r = await probeSource(server.url('/gop50'), { seconds: 7 });
    expect(r.codec).toBe('h264');
    expect([r.width, r.height]).toEqual([640, 360]);
    expect(r.fps).toBeCloseTo(25, 0);
    expect(r.gop?.frames).toBeCloseTo(50, 0);
    expect(r.gop?.seconds).toBeCloseTo(2, 1);
    expect(r.keyframeSampling.suitable).toBe(true);
  });

  it('through the CLI, with credentials in the URL redacted in the output', async () => {
    const url = server.url('/gop50').replace('rtsp://', 'rtsp://admin:pa55word@');
    const { stdout } = await run(process.execPath, ['bin/streetwatch.js', 'probe', url, '--seconds', '5', '--json'], { cwd: PROJECT_ROOT });
    expect(stdout).not.toContain('pa55word');
    const r = JSON.parse(stdout);
    expect(r.codec).toBe('h264');
    expect(r.gop.frames).toBeCloseTo(50, 0);
  });
});
