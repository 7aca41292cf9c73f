/**
 * Benchmarks (`npm run bench -- <name>`). Each prints one JSON object on stdout; progress goes to stderr.
 * Timings live here, never in pass/fail tests.
 *
 *   ingest   CPU per camera-minute of keyframe sampling vs full decode at 5 fps, on the same 1080p H.264
 *            stream (GOP 50 at 25 fps), through the real decoder arguments and frame parser.
 *   detect   per model: raw session.run vs the full detector, frames/s by batch; static-object ms/frame.
 *   dispatch incident confirmation → Kafka broker ack (p50/p95) through the real dispatch stage and an own
 *            loopback broker; evidence packaging ms per incident (scripts/bench-dispatch.ts).
 *   console  new incident → WebSocket feed latency with many clients, and API ms over 20,000 stored
 *            incidents (scripts/bench-console.ts).
 *   capacity cameras per machine: the real `streetwatch run` with N RTSP cameras (1080p25, GOP 50, 4 Mbit/s;
 *            default detectors, keyframe sampling, ring, zones and rules), N stepped up (25, 50, 100, 150,
 *            200) until it no longer holds; one JSON line per N (CPU % of a core and PSS per camera, frames,
 *            drops, decode and event-loop lag, detector queue wait, ring and network bytes), then a summary
 *            line. Env: BENCH_CAPACITY_STEPS=2,10, BENCH_CAPACITY_WARMUP_SEC (30), BENCH_CAPACITY_WINDOW_SEC
 *            (60), BENCH_CAPACITY_SAMPLE_SEC (5), BENCH_CAPACITY_PER_MOUNT (10), BENCH_CAPACITY_SOURCE
 *            (auto|rtsp|file) (scripts/bench-capacity.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decoderArgs, frameBytes, type DecoderArgsSpec } from '../pipeline/ffmpeg/args.js';
import { FrameAssembler, parseShowinfoLine } from '../pipeline/ffmpeg/frame-assembler.js';
import { ensureTestClip } from '../tests/helpers/media.js';
import { benchCapacity } from './bench-capacity.js';
import { benchDetect } from './bench-detect.js';
import { benchConsole } from './bench-console.js';
import { benchDispatch } from './bench-dispatch.js';

interface RunResult {
  frames: number;
  ffmpegCpuSec: number;
  wallSec: number;
  maxRssMb: number;
  nodeCpuSec: number;
  ringSegments: number;
}

/** One camera process over the whole clip, as fast as it goes; CPU and peak RSS from ffmpeg's -benchmark. */
async function runDecoder(spec: DecoderArgsSpec): Promise<RunResult> {
  const args = ['-benchmark', ...decoderArgs(spec)];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let frames = 0;
  const asm = new FrameAssembler(frameBytes(spec.frame), () => frames++);
  const child = spawn('ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let utime = 0;
  let stime = 0;
  let maxrssKb = 0;
  let buf = '';
  child.stdout.on('data', (c: Buffer) => asm.pushBytes(c));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    buf += s;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const info = parseShowinfoLine(line);
      if (info) asm.pushInfo(info);
      const b = /bench: utime=([\d.]+)s stime=([\d.]+)s/.exec(line);
      if (b) {
        utime = Number(b[1]);
        stime = Number(b[2]);
      }
      const r = /bench: maxrss=(\d+)(?:kB|KiB)/.exec(line);
      if (r) maxrssKb = Number(r[1]);
    }
  });
  const code: number = await new Promise((res) => child.on('close', (c) => res(c ?? -1)));
  if (code !== 0) throw new Error(`ffmpeg exited ${code}: ${buf.slice(-500)}`);
  const cpu = process.cpuUsage(cpu0);
  return {
    frames,
    ffmpegCpuSec: utime + stime,
    wallSec: (performance.now() - t0) / 1000,
    maxRssMb: maxrssKb / 1024,
    nodeCpuSec: (cpu.user + cpu.system) / 1e6,
    ringSegments: spec.ring ? readdirSync(spec.ring.dir).length : 0,
  };
}

async function ingest(): Promise<Record<string, unknown>> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 60);
  process.stderr.write(`bench ingest: preparing a ${seconds} s 1080p25 GOP-50 H.264 clip…\n`);
  const clip = await ensureTestClip({ seconds, width: 1920, height: 1080, fps: 25, gop: 50 });
  const minutes = seconds / 60;
  const run = async (sampling: DecoderArgsSpec['sampling']) => {
    const dir = mkdtempSync(join(tmpdir(), 'sw-bench-ring-'));
    try {
      return await runDecoder({
        input: { kind: 'file', path: clip, loop: false, realtime: false },
        sampling,
        frame: { width: 640, height: 360 },
        ring: { enabled: true, segmentSec: 2, keepMinutes: 10, idleKeepSec: 20, dir, naming: 'index' },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  process.stderr.write('bench ingest: keyframe sampling…\n');
  const key = await run({ mode: 'keyframes', minIntervalSec: 0 });
  process.stderr.write('bench ingest: full decode, 5 fps sampling…\n');
  const full = await run({ mode: 'fps', fps: 5 });
  const perMin = (r: RunResult) => (r.ffmpegCpuSec + r.nodeCpuSec) / minutes;
  return {
    bench: 'ingest',
    clip: { seconds, width: 1920, height: 1080, fps: 25, gop: 50, codec: 'h264' },
    frameSize: '640x360 rgb24',
    keyframeCpuSecPerCameraMin: round(perMin(key)),
    fullCpuSecPerCameraMin: round(perMin(full)),
    ratio: round(perMin(full) / perMin(key)),
    peakRssMbPerCamera: round(Math.max(key.maxRssMb, full.maxRssMb)),
    keyframe: { ...roundAll(key), rssMb: round(key.maxRssMb) },
    full: { ...roundAll(full), rssMb: round(full.maxRssMb) },
    note: 'CPU = ffmpeg user+system (its -benchmark) + this process parsing the pipe; ring (-c copy) output on in both runs',
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
function roundAll(r: RunResult): Record<string, number> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)]));
}

// capacity prints a line per camera count as it goes; its summary is the line printed last.
const capacity = async () => (await benchCapacity({ onStep: (r) => process.stdout.write(JSON.stringify(r) + '\n') })).summary;
const benches: Record<string, () => Promise<Record<string, unknown>>> = { ingest, detect: () => benchDetect(), dispatch: () => benchDispatch(), console: () => benchConsole(), capacity };
const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
// With no name: every bench but capacity (about 10 minutes, and it loads the whole machine): ask for it by name.
const chosen = names.length ? names : Object.keys(benches).filter((b) => b !== 'capacity');
for (const name of chosen) {
  const b = benches[name];
  if (!b) {
    process.stderr.write(`unknown bench '${name}'; known: ${Object.keys(benches).join(', ')}\n`);
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(await b()) + '\n');
}
