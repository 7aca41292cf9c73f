import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../core/paths.js';
import { configSchema } from '../config/schema.js';
import { PICK_SLACK_SEC } from '../pipeline/keyframe-pick.js';
import { startRun, type RunProcess } from '../tests/helpers/cli.js';
import { ensureTestClip } from '../tests/helpers/media.js';
import { startRtspServer, type RtspTestServer } from '../tests/helpers/rtsp-server.js';
import { percentile } from './stats.js';

const run = promisify(execFile);

/**
 * `npm run bench -- capacity`: how many cameras one `streetwatch run` process holds on this machine.
 *
 * For each N in the steps (default 25, 50, 100, 150, 200; env BENCH_CAPACITY_STEPS=2,10) a fresh real
 * `streetwatch run --config <file> --port 0` (bin/streetwatch.js as a child process, as an operator runs it)
 * with N cameras. Each camera is an RTSP stream from the project's RTSP test server (GStreamer,
 * scripts/rtsp-test-server.py; one mount per BENCH_CAPACITY_PER_MOUNT cameras, default 10) serving a 1080p25
 * H.264 clip made from the real Oxford video (GOP 50, ~4 Mbit/s, no B-frames), read with the defaults:
 * keyframe sampling, default detectors (YOLOX-Nano + static-object), ring on (keepMinutes 1 so 200 cameras fit
 * the disk), and on every camera a no_stacking zone with a stacking rule and a no_vending zone with a stall rule.
 * Start-up (until every camera delivers frames, at most 180 s; reported as allCamerasUpAfterSec), warm-up
 * (BENCH_CAPACITY_WARMUP_SEC, default 30), then a measured window (BENCH_CAPACITY_WINDOW_SEC, default
 * 60) sampled every BENCH_CAPACITY_SAMPLE_SEC (default 5): /proc (CPU, PSS/RSS, I/O), the run's /metrics, the
 * ring folders, `ss` (bytes the cameras' TCP connections received).
 *
 * One JSON line per N (progress on stderr), then a summary line. Stepping stops after the first N that does not
 * hold (drops ≥ 1 %, decode lag p99 ≥ 5 s, event-loop lag p99 ≥ 200 ms, or cameras not delivering). When the RTSP
 * server is what fails (it refuses or drops cameras, uses ≥ 90 % of a core, or dies; our own watchdog's stalls do
 * not count, an overloaded node causes them too), that N is run again, and the higher ones, with real-time looped
 * file sources (`source.kind: file, realtime: true`), and each line's `source` says which was used
 * (BENCH_CAPACITY_SOURCE=rtsp|file forces one).
 *
 * The machine is shared (tests, encodes): before each N it waits (BENCH_CAPACITY_QUIET_WAIT_SEC, default 600)
 * for other processes to use under a quarter of a core; a window in which they used more is marked `disturbed`,
 * and a disturbed N that fails is measured again (3 attempts at most, the earlier ones listed in the line).
 */

export type SourceKind = 'rtsp' | 'file';

export interface CapacityOptions {
  /** Camera counts to step through. Default: env BENCH_CAPACITY_STEPS or 25,50,100,150,200. */
  steps?: number[];
  /** Seconds between every camera being up and the measured window. Default: env BENCH_CAPACITY_WARMUP_SEC or 30. */
  warmupSec?: number;
  /** Seconds measured. Default: env BENCH_CAPACITY_WINDOW_SEC or 60. */
  windowSec?: number;
  /** Seconds between samples (metrics scrapes, /proc, ring folders). Default: env BENCH_CAPACITY_SAMPLE_SEC or 5. */
  sampleSec?: number;
  /** Cameras per RTSP mount. Default: env BENCH_CAPACITY_PER_MOUNT or 10. */
  camerasPerMount?: number;
  /** auto: RTSP, falling back to files when the RTSP server is the limit. Default: env BENCH_CAPACITY_SOURCE or auto. */
  source?: 'auto' | SourceKind;
  /** Minutes of ring kept per camera. Default 1. */
  keepMinutes?: number;
  /** sampling.minIntervalSec. Default: env BENCH_CAPACITY_MIN_INTERVAL_SEC or the config default. */
  minIntervalSec?: number;
  /** decoding.shared. Default: env BENCH_CAPACITY_SHARED (0/1) or the config default. */
  shared?: boolean;
  /** Length of the served clip (it loops). Default 60. */
  clipSeconds?: number;
  /**
   * Before each step, wait up to this long for the machine to be quiet (other processes under a quarter of a
   * core), so a parallel test run or encode does not end up in the numbers. Default: env
   * BENCH_CAPACITY_QUIET_WAIT_SEC or 600; 0 does not wait.
   */
  quietWaitSec?: number;
  /** Gets each step's result as soon as it is measured (the CLI prints it as a JSON line). */
  onStep?: (step: StepResult) => void;
  /** Progress lines. Default: stderr. */
  progress?: (msg: string) => void;
}

export interface StepResult {
  bench: 'capacity';
  cameras: number;
  source: SourceKind;
  [key: string]: unknown;
}

export interface CapacityReport {
  steps: StepResult[];
  summary: Record<string, unknown>;
}

const CLIP = { width: 1920, height: 1080, fps: 25, gop: 50, bitrate: 4_000_000 } as const;
/** What a config that sets nothing gets: the bench follows the defaults unless told otherwise. */
const CONFIG_DEFAULTS = configSchema.parse({ version: 1, cameras: [] });
const FRAMES_PER_SEC_PER_CAMERA = CLIP.fps / CLIP.gop; // keyframe sampling: one frame per GOP
/** Frames a camera delivers per second at keyframe sampling with this minIntervalSec (pipeline/keyframe-pick.ts). */
const framesPerSecPerCamera = (minIntervalSec: number) => {
  const gopSec = CLIP.gop / CLIP.fps;
  return 1 / (gopSec * Math.max(1, Math.ceil((minIntervalSec - PICK_SLACK_SEC) / gopSec)));
};
/** % of one core used by other processes above which a window counts as disturbed (and the machine as not quiet). */
const DISTURBED_PCT = 25;
/** Longest wait for every camera to come up before the warm-up starts anyway. */
const START_LIMIT_SEC = 180;
const LIMITS = { dropRatio: 0.01, decodeLagP99Sec: 5, eventLoopLagP99Sec: 0.2, delivering: 0.9 };
const CLK_TCK = clockTicks();
const MAX_ATTEMPTS = 3;

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

const envNum = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined);
const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const rn = (x: number | null | undefined, f: (x: number) => number = r3): number | null => (x === null || x === undefined || !Number.isFinite(x) ? null : f(x));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- /proc ---------------------------------------------------------------------------------------------------

/** A shared keyframe decoder reads FLV from its stdin; a camera's ffmpeg reads the camera. */
async function isSharedDecoder(pid: number): Promise<boolean> {
  try {
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return args.includes('pipe:0');
  } catch {
    return false;
  }
}

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, seconds. */
  cpu: number;
  /** cutime + cstime (reaped children), seconds. */
  childCpu: number;
}

async function readStat(pid: number | string): Promise<ProcStat | undefined> {
  try {
    const s = await readFile(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    const f = s.slice(close + 2).split(' ');
    // f[0] is field 3 (state): utime is field 14 → f[11], stime f[12], cutime f[13], cstime f[14]
    return {
      pid: Number(pid),
      ppid: Number(f[1]),
      comm: s.slice(s.indexOf('(') + 1, close),
      cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK,
      childCpu: (Number(f[13]) + Number(f[14])) / CLK_TCK,
    };
  } catch {
    return undefined;
  }
}

async function allStats(): Promise<ProcStat[]> {
  const out: ProcStat[] = [];
  const entries = (await readdir('/proc')).filter((e) => /^\d+$/.test(e));
  await Promise.all(
    entries.map(async (e) => {
      const st = await readStat(e);
      if (st) out.push(st);
    }),
  );
  return out;
}

/** pid and every descendant. */
function tree(stats: ProcStat[], root: number): ProcStat[] {
  const byParent = new Map<number, ProcStat[]>();
  for (const s of stats) byParent.set(s.ppid, [...(byParent.get(s.ppid) ?? []), s]);
  const out: ProcStat[] = [];
  const self = stats.find((s) => s.pid === root);
  if (!self) return out;
  const todo = [self];
  while (todo.length) {
    const s = todo.pop()!;
    out.push(s);
    todo.push(...(byParent.get(s.pid) ?? []));
  }
  return out;
}

async function memKb(pid: number): Promise<{ rss: number; pss: number } | undefined> {
  try {
    const s = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
    const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rss: get('Rss'), pss: get('Pss') };
  } catch {
    return undefined;
  }
}

interface ProcIo {
  rchar: number;
  writeBytes: number;
  /** Dirty page-cache bytes dropped before writeback: counted to whoever truncates or deletes the file. */
  cancelledWriteBytes: number;
}

async function procIo(pid: number): Promise<ProcIo | undefined> {
  try {
    const s = await readFile(`/proc/${pid}/io`, 'utf8');
    const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
    return { rchar: get('rchar'), writeBytes: get('write_bytes'), cancelledWriteBytes: get('cancelled_write_bytes') };
  } catch {
    return undefined;
  }
}

/** CPU of each thread of a process (all of node's are named "node": ONNX worker lanes, libuv pool, V8), seconds. */
async function threadCpu(pid: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = await readdir(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  await Promise.all(
    tids.map(async (tid) => {
      const st = await readStat(`${pid}/task/${tid}`);
      if (st) out.set(tid, st.cpu);
    }),
  );
  return out;
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
async function machineCpu(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

// --- /metrics ------------------------------------------------------------------------------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const sum = (ss: Sample[], name: string, pred: (l: Record<string, string>) => boolean = () => true) =>
  ss.filter((s) => s.name === name && pred(s.labels)).reduce((a, s) => a + s.value, 0);

const has = (ss: Sample[], name: string) => ss.some((s) => s.name === name);

/** A histogram's cumulative buckets (le → count), summed over label sets matching `pred`. */
function buckets(ss: Sample[], name: string, pred: (l: Record<string, string>) => boolean = () => true): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of ss) {
    if (s.name !== `${name}_bucket` || !pred(s.labels)) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    out.set(le, (out.get(le) ?? 0) + s.value);
  }
  return out;
}

/** Quantile from cumulative bucket counts (as Prometheus' histogram_quantile: linear within the bucket). */
export function histogramQuantile(q: number, cumulative: Map<number, number>): number | null {
  const les = [...cumulative.keys()].sort((a, b) => a - b);
  const total = cumulative.get(Infinity) ?? (les.length ? cumulative.get(les.at(-1)!)! : 0);
  if (!total) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const le of les) {
    const c = cumulative.get(le)!;
    if (c >= rank) {
      if (le === Infinity) return prevLe; // beyond the last finite bucket: its bound is all we know
      return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(c - prevCount, 1e-12);
    }
    prevLe = le;
    prevCount = c;
  }
  return prevLe;
}

function bucketDelta(a: Map<number, number>, b: Map<number, number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const [le, c] of b) out.set(le, c - (a.get(le) ?? 0));
  return out;
}

// --- ring folders and sockets --------------------------------------------------------------------------------

/** Size of every segment file under <dataDir>/ring/<camera>/. */
async function ringFiles(dataDir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const root = join(dataDir, 'ring');
  let cams: string[] = [];
  try {
    cams = await readdir(root);
  } catch {
    return out;
  }
  await Promise.all(
    cams.map(async (cam) => {
      let names: string[] = [];
      try {
        names = await readdir(join(root, cam));
      } catch {
        return;
      }
      await Promise.all(
        names.map(async (n) => {
          try {
            out.set(`${cam}/${n}`, (await stat(join(root, cam, n))).size);
          } catch {
            /* pruned meanwhile */
          }
        }),
      );
    }),
  );
  return out;
}

/** Bytes received so far by each TCP connection to `port` on loopback (ss -ti), by local address. */
async function tcpReceived(port: number): Promise<Map<string, number> | undefined> {
  try {
    const { stdout } = await run('ss', ['-tinH', 'state', 'established', `( dport = :${port} )`], { maxBuffer: 16 << 20 });
    const out = new Map<string, number>();
    let local = '';
    for (const line of stdout.split('\n')) {
      if (!line.trim()) continue;
      const addr = /^\s*\d+\s+\d+\s+(\S+)\s+(\S+)/.exec(line);
      if (addr && !line.includes('bytes_')) {
        local = addr[1]!;
        continue;
      }
      const m = /bytes_received:(\d+)/.exec(line);
      if (m && local) out.set(local, Number(m[1]));
    }
    return out;
  } catch {
    return undefined;
  }
}

// --- one step ------------------------------------------------------------------------------------------------

interface Snapshot {
  t: number;
  stats: ProcStat[];
  nodeThreads: Map<string, number>;
  machine: { busy: number; total: number };
  metrics: Sample[];
  io: Map<number, ProcIo>;
  /** node's own: it deletes the ring segments, so the writes they never needed are counted to it. */
  nodeIo: ProcIo | undefined;
  tcp: Map<string, number> | undefined;
}

function cameraConfig(i: number, kind: SourceKind, clip: string, server: RtspTestServer | undefined, perMount: number): string {
  const id = `cam-${String(i + 1).padStart(3, '0')}`;
  const source =
    kind === 'rtsp'
      ? `{ kind: rtsp, url: "${server!.url(`/m${String(Math.floor(i / perMount) + 1).padStart(2, '0')}`)}", transport: tcp, timeoutSec: 5 }`
      : `{ kind: file, path: "${clip}", loop: true, realtime: true }`;
  return `
  - id: ${id}
    source: ${source}
    zones:
      - id: kerb
        kind: no_stacking
        polygon: [[0.62, 0.35], [1.0, 0.30], [1.0, 1.0], [0.75, 1.0]]
        rules: { stacking: { dwell: 300 } }
      - id: street
        kind: no_vending
        polygon: [[0.0, 0.88], [0.53, 0.26], [0.80, 0.17], [0.44, 1.0], [0.0, 1.0]]
        rules: { stall: { dwell: 60 } }`;
}

function writeConfig(file: string, n: number, kind: SourceKind, clip: string, server: RtspTestServer | undefined, perMount: number, keepMinutes: number, minIntervalSec: number, shared: boolean): void {
  const cams = Array.from({ length: n }, (_, i) => cameraConfig(i, kind, clip, server, perMount)).join('');
  writeFileSync(
    file,
    `# streetwatch bench capacity: ${n} cameras (${kind})
version: 1
site: { name: bench-capacity }
storage: { dataDir: ./data }
decoding: { shared: ${shared} }
defaults:
  sampling: { mode: keyframes, minIntervalSec: ${minIntervalSec} }
  ring: { enabled: true, segmentSec: 2, keepMinutes: ${keepMinutes} }
cameras:${cams}
`,
  );
}

async function gitState(): Promise<{ head: string; status: string[] }> {
  const head = (await run('git', ['rev-parse', 'HEAD'], { cwd: PROJECT_ROOT })).stdout.trim();
  const status = (await run('git', ['status', '--short'], { cwd: PROJECT_ROOT })).stdout.split('\n').filter(Boolean);
  return { head, status };
}

function machine(): Record<string, unknown> {
  const c = cpus();
  return { cpus: c.length, cpuModel: c[0]?.model ?? '?', memGb: r1(totalmem() / 2 ** 30), kernel: release(), node: process.version };
}

async function stopRun(r: RunProcess, progress: (m: string) => void): Promise<{ code: number | null; signal: string | null; stopSec: number }> {
  const t0 = performance.now();
  if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGTERM');
  const timer = setTimeout(() => {
    progress('streetwatch run did not exit within 90 s of SIGTERM: SIGKILL');
    r.proc.kill('SIGKILL');
  }, 90_000);
  const e = await r.exited;
  clearTimeout(timer);
  return { ...e, stopSec: r1((performance.now() - t0) / 1000) };
}

interface StepContext {
  n: number;
  kind: SourceKind;
  clip: string;
  warmupSec: number;
  windowSec: number;
  sampleSec: number;
  perMount: number;
  keepMinutes: number;
  minIntervalSec: number;
  shared: boolean;
  quietWaitSec: number;
  progress: (msg: string) => void;
}

async function runStep(ctx: StepContext): Promise<StepResult> {
  const { n, kind, progress } = ctx;
  // Waited for before the work folder exists: a bench stopped while it waits leaves nothing behind.
  const quiet = ctx.quietWaitSec > 0 ? await waitQuiet(ctx.quietWaitSec, progress) : null;
  const work = mkdtempSync(join(tmpdir(), `sw-bench-capacity-${n}-`));
  const dataDir = join(work, 'data');
  const needGb = (n * (CLIP.bitrate / 8) * (ctx.keepMinutes * 60 + 60) * 1.3) / 1e9;
  const fs = statfsSync(work);
  const freeGb = (fs.bavail * fs.bsize) / 1e9;
  if (freeGb < needGb + 2) {
    rmSync(work, { recursive: true, force: true });
    throw new Error(`bench capacity: ${n} cameras' rings need ~${r1(needGb)} GB in ${tmpdir()}, ${r1(freeGb)} GB free`);
  }
  const git = await gitState();
  let server: RtspTestServer | undefined;
  let proc: RunProcess | undefined;
  let stopped: Awaited<ReturnType<typeof stopRun>> | undefined;
  const mounts = kind === 'rtsp' ? Math.ceil(n / ctx.perMount) : 0;
  try {
    if (kind === 'rtsp') {
      const m: Record<string, string> = {};
      for (let i = 1; i <= mounts; i++) m[`/m${String(i).padStart(2, '0')}`] = ctx.clip;
      server = await startRtspServer({ mounts: m, loop: true });
      progress(`${n} cameras: RTSP server pid ${server.pid} on port ${server.port}, ${mounts} mounts`);
    }
    const configFile = join(work, 'streetwatch.yaml');
    writeConfig(configFile, n, kind, ctx.clip, server, ctx.perMount, ctx.keepMinutes, ctx.minIntervalSec, ctx.shared);
    proc = startRun(configFile, { cwd: work, args: ['--port', '0'] });
    const t0 = performance.now();
    await proc.running(180_000);
    const nodePid = proc.proc.pid!;
    const url = proc.url();
    const startSec = (performance.now() - t0) / 1000;
    progress(`${n} cameras (${kind}): streetwatch run pid ${nodePid} up in ${r1(startSec)} s at ${url}; warm-up ${ctx.warmupSec} s once every camera is up`);

    const scrape = async (): Promise<Sample[]> => {
      try {
        const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(30_000) });
        return parseMetrics(await res.text());
      } catch (e) {
        progress(`scrape failed: ${(e as Error).message}`);
        return [];
      }
    };
    const camerasUp = (ss: Sample[]) => ss.filter((s) => s.name === 'streetwatch_camera_up' && s.value === 1).length;

    // Start-up, then warm-up: the window measures the steady state, so the warm-up counts from when every
    // camera is up (or START_LIMIT_SEC passed without that: the window then shows the cameras missing). How
    // long start-up took is reported apart (allCamerasUpAfterSec). Scraped as in the window (the event-loop
    // histogram is reset by each scrape).
    let allUpSec: number | null = null;
    let warmEnd = performance.now() + START_LIMIT_SEC * 1000;
    while (performance.now() < warmEnd) {
      await sleep(Math.min(ctx.sampleSec * 1000, Math.max(0, warmEnd - performance.now())));
      const up = camerasUp(await scrape());
      if (allUpSec === null && up === n) {
        allUpSec = (performance.now() - t0) / 1000;
        warmEnd = performance.now() + ctx.warmupSec * 1000;
      }
      progress(`${n} cameras: ${allUpSec === null ? 'starting' : 'warm-up'}, ${up}/${n} up`);
    }

    const snapshot = async (): Promise<Snapshot> => {
      const metrics = await scrape();
      const stats = await allStats();
      const kids = stats.filter((s) => s.ppid === nodePid);
      const io = new Map<number, ProcIo>();
      await Promise.all(
        kids.map(async (k) => {
          const v = await procIo(k.pid);
          if (v) io.set(k.pid, v);
        }),
      );
      return {
        t: performance.now(),
        stats,
        nodeThreads: await threadCpu(nodePid),
        machine: await machineCpu(),
        metrics,
        io,
        nodeIo: await procIo(nodePid),
        tcp: server ? await tcpReceived(server.port) : undefined,
      };
    };

    // The window.
    progress(`${n} cameras: measuring ${ctx.windowSec} s`);
    const firstRing = await ringFiles(dataDir);
    const s0 = await snapshot();
    const linesAtStart = proc.lines.length;
    const ringSeen = new Map<string, number>(); // segment → largest size seen, for files new in the window
    const lastSeen = new Map<number, ProcStat>(); // node's children, last sample
    for (const k of s0.stats.filter((s) => s.ppid === nodePid)) lastSeen.set(k.pid, k);
    const lagSamples: number[] = [];
    const loopP99: number[] = [];
    const loopMax: number[] = [];
    let scrapes = 0;
    const windowEnd = s0.t + ctx.windowSec * 1000;
    let s1: Snapshot | undefined;
    while (!s1) {
      await sleep(Math.min(ctx.sampleSec * 1000, Math.max(0, windowEnd - performance.now())));
      const last = performance.now() >= windowEnd - 50;
      const snap = last ? await snapshot() : undefined;
      const ms = snap ? snap.metrics : await scrape();
      scrapes++;
      for (const s of ms) {
        if (s.name === 'streetwatch_decode_lag_seconds') lagSamples.push(s.value);
        if (s.name === 'streetwatch_process_nodejs_eventloop_lag_p99_seconds') loopP99.push(s.value);
        if (s.name === 'streetwatch_process_nodejs_eventloop_lag_max_seconds') loopMax.push(s.value);
      }
      for (const [f, size] of await ringFiles(dataDir)) if (!firstRing.has(f)) ringSeen.set(f, Math.max(size, ringSeen.get(f) ?? 0));
      for (const k of (snap?.stats ?? (await allStats())).filter((s) => s.ppid === nodePid)) lastSeen.set(k.pid, k);
      if (!snap) {
        const up = camerasUp(ms);
        progress(`${n} cameras: ${r1((performance.now() - s0.t) / 1000)} s, ${up}/${n} up, decode lag max ${r2(Math.max(0, ...ms.filter((s) => s.name === 'streetwatch_decode_lag_seconds').map((s) => s.value)))} s`);
      }
      s1 = snap;
    }
    const windowSec = (s1.t - s0.t) / 1000;

    // CPU, seconds over the window.
    const node0 = s0.stats.find((s) => s.pid === nodePid)!;
    const node1 = s1.stats.find((s) => s.pid === nodePid)!;
    const kids0 = new Map(s0.stats.filter((s) => s.ppid === nodePid).map((s) => [s.pid, s]));
    const kids1 = s1.stats.filter((s) => s.ppid === nodePid);
    const alive1 = new Set(kids1.map((k) => k.pid));
    let ffmpegCpu = 0;
    let sharedDecoderCpu = 0;
    let otherChildCpu = 0;
    const sharedPids = new Set<number>();
    for (const k of kids1) if (k.comm === 'ffmpeg' && (await isSharedDecoder(k.pid))) sharedPids.add(k.pid);
    for (const k of kids1) {
      const d = k.cpu - (kids0.get(k.pid)?.cpu ?? 0);
      if (k.comm === 'ffmpeg') ffmpegCpu += d;
      else otherChildCpu += d;
      if (sharedPids.has(k.pid)) sharedDecoderCpu += d;
    }
    // Children that exited in the window (restarts, evidence cuts) are in node's cutime once reaped; take off
    // what those that already ran at the start had used before it.
    let reapedCpu = node1.childCpu - node0.childCpu;
    for (const [pid, k] of kids0) if (!alive1.has(pid)) reapedCpu -= k.cpu;
    const exitedInWindow = [...lastSeen.keys()].filter((pid) => !alive1.has(pid)).length;
    const nodeCpu = node1.cpu - node0.cpu;
    const ourCpu = nodeCpu + ffmpegCpu + otherChildCpu + Math.max(0, reapedCpu);
    const pct = (sec: number) => (sec / windowSec) * 100;
    const serverTree0 = server?.pid ? tree(s0.stats, server.pid) : [];
    const serverTree1 = server?.pid ? tree(s1.stats, server.pid) : [];
    const serverCpu = serverTree1.reduce((a, s) => a + s.cpu - (serverTree0.find((x) => x.pid === s.pid)?.cpu ?? 0), 0);
    const machineBusy = (s1.machine.busy - s0.machine.busy) / Math.max(1, s1.machine.total - s0.machine.total);
    // Node's main thread (the event loop) apart from its other threads (busiest first).
    let mainThread = 0;
    const otherThreads: number[] = [];
    for (const [tid, v] of s1.nodeThreads) {
      const dt = v - (s0.nodeThreads.get(tid) ?? 0);
      if (Number(tid) === nodePid) mainThread = dt;
      else otherThreads.push(dt);
    }
    otherThreads.sort((a, b) => b - a);

    // Memory at the end of the window.
    const ffmpegPids = kids1.filter((k) => k.comm === 'ffmpeg').map((k) => k.pid);
    const nodeMem = await memKb(nodePid);
    const ffMem = (await Promise.all(ffmpegPids.map(memKb))).filter((m): m is { rss: number; pss: number } => !!m);
    const sharedMem = (await Promise.all([...sharedPids].map(memKb))).filter((m): m is { rss: number; pss: number } => !!m);
    const sharedPssMb = sharedMem.reduce((a, m) => a + m.pss, 0) / 1024;
    const ffPssMb = ffMem.reduce((a, m) => a + m.pss, 0) / 1024;
    const ffRssMb = ffMem.reduce((a, m) => a + m.rss, 0) / 1024;
    const nodePssMb = (nodeMem?.pss ?? NaN) / 1024;
    const nodeRssMb = (nodeMem?.rss ?? NaN) / 1024;
    const serverMem = server?.pid ? await memKb(server.pid) : undefined;

    // Frames.
    const m0 = s0.metrics;
    const m1 = s1.metrics;
    const d = (name: string, pred?: (l: Record<string, string>) => boolean) => sum(m1, name, pred) - sum(m0, name, pred);
    const decoded = d('streetwatch_frames_decoded_total');
    const scheduled = d('streetwatch_frames_scheduled_total');
    const dropped = d('streetwatch_frames_dropped_total');
    const dropReasons: Record<string, number> = {};
    for (const s of m1.filter((s) => s.name === 'streetwatch_frames_dropped_total')) dropReasons[s.labels.reason!] = (dropReasons[s.labels.reason!] ?? 0) + s.value;
    for (const s of m0.filter((s) => s.name === 'streetwatch_frames_dropped_total')) dropReasons[s.labels.reason!] = (dropReasons[s.labels.reason!] ?? 0) - s.value;
    const dropRatio = decoded > 0 ? dropped / decoded : null;
    const expected = n * framesPerSecPerCamera(ctx.minIntervalSec) * windowSec;
    const upEnd = camerasUp(m1);
    const reconnects = d('streetwatch_camera_reconnects_total');
    const reconnectsByReason: Record<string, number> = {};
    for (const reason of new Set(m1.filter((s) => s.name === 'streetwatch_camera_reconnects_total').map((s) => s.labels.reason!))) {
      const v = d('streetwatch_camera_reconnects_total', (l) => l.reason === reason);
      if (v > 0) reconnectsByReason[reason] = v;
    }
    // Why cameras went down, from the run's log ('camera down: …' lines carry the exit reason and error code):
    // in the window, and since the start (a camera that never connected shows here).
    const downs = (from: number) => {
      const out: Record<string, number> = {};
      for (const l of proc!.lines.slice(from)) {
        if (!String(l.msg ?? '').startsWith('camera down')) continue;
        const k = `${String(l.reason)}:${String(l.code)}`;
        out[k] = (out[k] ?? 0) + 1;
      }
      return out;
    };
    const downsInWindow = downs(linesAtStart);
    const downsSinceStart = downs(0);
    // The run's own warnings and errors in the window, by message, and the shared decoders' exits and hangs in
    // full (their stderr tail says why): a drop burst of `decoder_exit` is explained here.
    const warningsInWindow: Record<string, number> = {};
    const decoderEvents: Record<string, unknown>[] = [];
    for (const l of proc!.lines.slice(linesAtStart)) {
      if (Number(l.level ?? 0) < 40) continue;
      const msg = String(l.msg ?? '');
      warningsInWindow[msg] = (warningsInWindow[msg] ?? 0) + 1;
      if (msg.includes('shared keyframe decoder') && decoderEvents.length < 5) decoderEvents.push(l);
    }

    // Detectors.
    const detectorIds = [...new Set(m1.filter((s) => s.name === 'streetwatch_detector_seconds_count').map((s) => s.labels.detector!))];
    const detectors: Record<string, unknown> = {};
    for (const id of detectorIds) {
      const isId = (l: Record<string, string>) => l.detector === id;
      const hb = bucketDelta(buckets(m0, 'streetwatch_detector_seconds', isId), buckets(m1, 'streetwatch_detector_seconds', isId));
      const runs = d('streetwatch_detector_seconds_count', isId);
      const secs = d('streetwatch_detector_seconds_sum', isId);
      const frames = d('streetwatch_frames_detected_total', isId);
      detectors[id] = {
        framesPerSec: r2(frames / windowSec),
        // ok, failed, and skipped (frames a detector was not asked to run on) per second
        framesPerSecByResult: Object.fromEntries(
          [...new Set(m1.filter((s) => s.name === 'streetwatch_frames_detected_total' && isId(s.labels)).map((s) => s.labels.result!))].map((res) => [
            res,
            r2(d('streetwatch_frames_detected_total', (l) => isId(l) && l.result === res) / windowSec),
          ]),
        ),
        batchesPerSec: r2(runs / windowSec),
        meanBatch: runs ? r2(d('streetwatch_frames_detected_total', (l) => isId(l) && l.result !== 'skipped') / runs) : null,
        batchMsMean: runs ? r1((secs / runs) * 1000) : null,
        batchMsP50: rn(histogramQuantile(0.5, hb), (x) => r1(x * 1000)),
        batchMsP99: rn(histogramQuantile(0.99, hb), (x) => r1(x * 1000)),
        busyPctOfWindow: r1(pct(secs)),
      };
    }
    const waitName = 'streetwatch_scheduler_wait_seconds';
    const haveWait = has(m1, `${waitName}_bucket`);
    const wb = haveWait ? bucketDelta(buckets(m0, waitName), buckets(m1, waitName)) : undefined;

    // Ring and input bytes.
    let ringWrite = 0;
    let rchar = 0;
    for (const [pid, v] of s1.io) {
      const v0 = s0.io.get(pid);
      ringWrite += v.writeBytes - (v0?.writeBytes ?? 0);
      rchar += v.rchar - (v0?.rchar ?? 0);
    }
    const ringNewBytes = [...ringSeen.values()].reduce((a, b) => a + b, 0);
    // Segments deleted while their pages were still dirty never reach the disk.
    const cancelled = s1.nodeIo && s0.nodeIo ? s1.nodeIo.cancelledWriteBytes - s0.nodeIo.cancelledWriteBytes : NaN;
    let tcpBytes: number | null = null;
    if (s0.tcp && s1.tcp) {
      tcpBytes = 0;
      for (const [k, v] of s1.tcp) tcpBytes += v - (s0.tcp.get(k) ?? 0);
    }

    const lagP99 = lagSamples.length ? percentile(lagSamples, 99) : null;
    const loopLagP99 = loopP99.length ? Math.max(...loopP99) : null;
    const failed: string[] = [];
    if (dropRatio === null || dropRatio >= LIMITS.dropRatio) failed.push('drops');
    if (lagP99 === null || lagP99 >= LIMITS.decodeLagP99Sec) failed.push('decodeLag');
    if (loopLagP99 === null || loopLagP99 >= LIMITS.eventLoopLagP99Sec) failed.push('eventLoopLag');
    if (upEnd < n || decoded < LIMITS.delivering * expected) failed.push('camerasDelivering');

    // Is the RTSP server what gave out? Cameras it refused or dropped (any camera-down but our own watchdog's
    // stalls, which an overloaded node causes as well), its CPU, or its death. Stalls are reported, not blamed.
    let rtspServerLimited: string | null = null;
    if (kind === 'rtsp') {
      const reasons: string[] = [];
      const serverSide = Object.entries(downsSinceStart).filter(([k]) => !k.startsWith('stall:'));
      if (serverSide.length) reasons.push(`cameras refused or dropped by the server (${serverSide.map(([k, v]) => `${v}× ${k}`).join(', ')})`);
      if (pct(serverCpu) >= 90) reasons.push(`server at ${r1(pct(serverCpu))} % of a core`);
      if (!server?.pid) reasons.push('server exited');
      rtspServerLimited = reasons.length ? reasons.join('; ') : null;
    }
    const otherPct = Math.max(0, machineBusy * 100 * cpus().length - pct(ourCpu) - pct(serverCpu));

    stopped = await stopRun(proc, progress);
    const hits = d('streetwatch_hits_total');
    return {
      bench: 'capacity',
      cameras: n,
      source: kind,
      holds: failed.length === 0,
      failed,
      // Other processes used a quarter of a core or more during the window: the numbers are not this run's alone.
      disturbed: otherPct >= DISTURBED_PCT,
      limits: { dropRatio: `< ${LIMITS.dropRatio}`, decodeLagP99Sec: `< ${LIMITS.decodeLagP99Sec}`, eventLoopLagP99Sec: `< ${LIMITS.eventLoopLagP99Sec}`, camerasDelivering: `all up and decoded >= ${LIMITS.delivering * 100} % of ${FRAMES_PER_SEC_PER_CAMERA}/s each` },
      windowSec: r1(windowSec),
      warmupSec: ctx.warmupSec,
      startSec: r1(startSec),
      allCamerasUpAfterSec: allUpSec === null ? null : r1(allUpSec),
      camerasUp: upEnd,
      reconnectsInWindow: reconnects,
      reconnectsByReason,
      cameraDownInWindow: downsInWindow,
      cameraDownSinceStart: downsSinceStart,
      childrenExitedInWindow: exitedInWindow,
      warningsInWindow,
      decoderEvents,
      cpu: {
        unit: '% of one core',
        pctCorePerCamera: r2(pct(ourCpu) / n),
        nodePctCorePerCamera: r2(pct(nodeCpu) / n),
        ffmpegPctCorePerCamera: r2(pct(ffmpegCpu + Math.max(0, reapedCpu)) / n),
        totalPct: r1(pct(ourCpu)),
        nodePct: r1(pct(nodeCpu)),
        ffmpegPct: r1(pct(ffmpegCpu)),
        // of which the shared keyframe decoders (decoding.shared); the rest is the cameras' own ffmpegs
        sharedDecodersPct: r1(pct(sharedDecoderCpu)),
        sharedDecodersPctPerCamera: r2(pct(sharedDecoderCpu) / n),
        cameraFfmpegPctPerCamera: r2(pct(ffmpegCpu - sharedDecoderCpu) / n),
        reapedChildrenPct: r1(pct(Math.max(0, reapedCpu))),
        otherChildrenPct: r1(pct(otherChildCpu)),
        nodeMainThreadPct: r1(pct(mainThread)),
        nodeOtherThreadsPct: r1(pct(otherThreads.reduce((a, b) => a + b, 0))),
        nodeBusiestOtherThreadsPct: otherThreads.slice(0, 4).map((x) => r1(pct(x))),
        rtspServerPct: kind === 'rtsp' ? r1(pct(serverCpu)) : null,
        rtspServerPctPerCamera: kind === 'rtsp' ? r2(pct(serverCpu) / n) : null,
        // Of all cores together (100 = every core busy).
        machineBusyPct: r1(machineBusy * 100),
        machineCores: cpus().length,
        // What else kept the machine busy (other processes, the kernel's own threads): a check on interference.
        otherProcessesPct: r1(otherPct),
      },
      memory: {
        pssMbPerCamera: r2((nodePssMb + ffPssMb) / n),
        // all ffmpeg PSS (the cameras' own and the shared decoders) per camera
        ffmpegPssMbPerCamera: ffMem.length ? r2(ffPssMb / n) : null,
        cameraFfmpegPssMb: ffMem.length > sharedMem.length ? r2((ffPssMb - sharedPssMb) / (ffMem.length - sharedMem.length)) : null,
        sharedDecoders: sharedMem.length,
        sharedDecodersPssMbTotal: r1(sharedPssMb),
        rssMbPerCamera: r2((nodeRssMb + ffRssMb) / n),
        ffmpegRssMbPerCamera: ffMem.length ? r2(ffRssMb / ffMem.length) : null,
        nodeRssMb: r1(nodeRssMb),
        nodePssMb: r1(nodePssMb),
        ffmpegProcesses: ffMem.length,
        ffmpegPssMbTotal: r1(ffPssMb),
        rtspServerPssMb: serverMem ? r1(serverMem.pss / 1024) : null,
        note: 'PSS from /proc/<pid>/smaps_rollup at the end of the window (shared pages split between the processes sharing them); RSS counts shared libraries once per process',
      },
      frames: {
        decodedPerSec: r2(decoded / windowSec),
        expectedPerSec: r2(expected / windowSec),
        scheduledPerSec: r2(scheduled / windowSec),
        droppedPerSec: r2(dropped / windowSec),
        dropRatio: rn(dropRatio, (x) => Math.round(x * 1e4) / 1e4),
        dropsByReason: Object.fromEntries(Object.entries(dropReasons).filter(([, v]) => v > 0)),
        totalDecoded: sum(m1, 'streetwatch_frames_decoded_total'),
        totalDetected: sum(m1, 'streetwatch_frames_detected_total', (l) => l.result === 'ok'),
      },
      decodeLagSec: {
        p50: rn(lagSamples.length ? percentile(lagSamples, 50) : null),
        p99: rn(lagP99),
        max: rn(lagSamples.length ? Math.max(...lagSamples) : null),
        samples: lagSamples.length,
        note: `gauge per camera sampled every ${ctx.sampleSec} s; percentiles over all samples and cameras`,
      },
      // prom-client's GC histogram of node's main isolate, by kind (major = mark-compact)
      gcMainIsolate: Object.fromEntries(
        ['major', 'minor', 'incremental', 'weakcb'].map((kind) => {
          const has = (l: Record<string, string>) => l.kind === kind;
          return [kind, { perSec: r2(d('streetwatch_process_nodejs_gc_duration_seconds_count', has) / windowSec), msPerSec: r1((d('streetwatch_process_nodejs_gc_duration_seconds_sum', has) * 1000) / windowSec) }];
        }),
      ),
      eventLoopLagMs: {
        p99: rn(loopLagP99, (x) => r1(x * 1000)),
        p99Median: rn(loopP99.length ? percentile(loopP99, 50) : null, (x) => r1(x * 1000)),
        max: rn(loopMax.length ? Math.max(...loopMax) : null, (x) => r1(x * 1000)),
        scrapes,
        note: "prom-client resets its event-loop histogram at every scrape: each scrape's p99 covers the time since the previous one; p99 is the worst of them, p99Median their median; includes the monitor's 10 ms resolution",
      },
      schedulerWaitMs: haveWait
        ? { p50: rn(histogramQuantile(0.5, wb!), (x) => r1(x * 1000)), p99: rn(histogramQuantile(0.99, wb!), (x) => r1(x * 1000)), count: (wb!.get(Infinity) ?? 0) }
        : { p50: null, p99: null, note: `${waitName} not exported by this build` },
      detectors,
      hitsInWindow: hits,
      incidentsInWindow: d('streetwatch_incident_hits_total', (l) => l.decision === 'created'),
      io: {
        ringWriteMBPerSec: r2(ringWrite / windowSec / 1e6),
        ringDiskWriteMBPerSec: Number.isFinite(cancelled) ? r2(Math.max(0, ringWrite - cancelled) / windowSec / 1e6) : null,
        ringNewSegmentMBPerSec: r2(ringNewBytes / windowSec / 1e6),
        ringNewSegments: ringSeen.size,
        inputMBPerSec: kind === 'rtsp' ? rn(tcpBytes === null ? null : tcpBytes / windowSec / 1e6, r2) : r2(rchar / windowSec / 1e6),
        inputMbitPerCamera: kind === 'rtsp' ? rn(tcpBytes === null ? null : (tcpBytes * 8) / windowSec / 1e6 / n, r2) : r2((rchar * 8) / windowSec / 1e6 / n),
        note:
          'ringWrite: Σ write_bytes (/proc/<pid>/io) of the ffmpeg children; ringDiskWrite: that less the cancelled_write_bytes of node, which deletes the segments (pages deleted before the kernel wrote them back never reach the disk); ringNewSegment: bytes of segment files that appeared in the ring folders during the window; input: ' +
          (kind === 'rtsp' ? 'Σ bytes_received (ss -ti) of the TCP connections to the RTSP server (RTSP interleaved over loopback)' : 'Σ rchar (/proc/<pid>/io) of the ffmpeg children (the file reads)'),
      },
      ring: { keepMinutes: ctx.keepMinutes, segmentSec: 2, note: `ring keepMinutes ${ctx.keepMinutes} (not the default 10) so ${n} cameras fit the disk; the write rate does not depend on it` },
      rtsp: kind === 'rtsp' ? { mounts, camerasPerMount: ctx.perMount, serverLimited: rtspServerLimited } : null,
      clip: { ...CLIP, file: ctx.clip.split('/').at(-1) },
      stop: stopped,
      machineBeforeStep: quiet,
      git,
      machine: machine(),
      at: new Date().toISOString(),
    };
  } finally {
    if (proc && !stopped) await stopRun(proc, progress).catch(() => undefined);
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Waits until the machine's busy share over 5 s is under a quarter of a core; returns the last measure (% of one core). */
async function waitQuiet(maxSec: number, progress: (m: string) => void): Promise<{ busyPctBefore: number; waitedSec: number }> {
  const t0 = performance.now();
  for (;;) {
    const a = await machineCpu();
    await sleep(5000);
    const b = await machineCpu();
    const busyPct = ((b.busy - a.busy) / Math.max(1, b.total - a.total)) * 100 * cpus().length;
    const waitedSec = (performance.now() - t0) / 1000;
    if (busyPct < DISTURBED_PCT || waitedSec >= maxSec) {
      if (busyPct >= DISTURBED_PCT) progress(`machine still busy (${r1(busyPct)} % of a core used by other processes) after ${r1(waitedSec)} s: measuring anyway`);
      return { busyPctBefore: r1(busyPct), waitedSec: r1(waitedSec) };
    }
    progress(`waiting for the machine to be quiet: ${r1(busyPct)} % of a core busy elsewhere`);
  }
}

// --- the steps -----------------------------------------------------------------------------------------------

export async function benchCapacity(opts: CapacityOptions = {}): Promise<CapacityReport> {
  const steps = opts.steps ?? (process.env.BENCH_CAPACITY_STEPS ? process.env.BENCH_CAPACITY_STEPS.split(',').map(Number) : [25, 50, 100, 150, 200]);
  if (!steps.length || steps.some((s) => !Number.isInteger(s) || s < 1)) throw new Error(`bench capacity: bad steps ${JSON.stringify(steps)}`);
  const progress = opts.progress ?? ((m: string) => process.stderr.write(`bench capacity: ${m}\n`));
  const mode = opts.source ?? ((process.env.BENCH_CAPACITY_SOURCE as CapacityOptions['source']) || 'auto');
  const base = {
    warmupSec: opts.warmupSec ?? envNum('BENCH_CAPACITY_WARMUP_SEC') ?? 30,
    windowSec: opts.windowSec ?? envNum('BENCH_CAPACITY_WINDOW_SEC') ?? 60,
    sampleSec: opts.sampleSec ?? envNum('BENCH_CAPACITY_SAMPLE_SEC') ?? 5,
    perMount: opts.camerasPerMount ?? envNum('BENCH_CAPACITY_PER_MOUNT') ?? 10,
    keepMinutes: opts.keepMinutes ?? 1,
    minIntervalSec: opts.minIntervalSec ?? envNum('BENCH_CAPACITY_MIN_INTERVAL_SEC') ?? (CONFIG_DEFAULTS.defaults.sampling.mode === 'keyframes' ? CONFIG_DEFAULTS.defaults.sampling.minIntervalSec : 0),
    shared: opts.shared ?? (process.env.BENCH_CAPACITY_SHARED ? process.env.BENCH_CAPACITY_SHARED !== '0' : CONFIG_DEFAULTS.decoding.shared),
    quietWaitSec: opts.quietWaitSec ?? envNum('BENCH_CAPACITY_QUIET_WAIT_SEC') ?? 600,
    progress,
  };
  const clipSeconds = opts.clipSeconds ?? 60;
  progress(`preparing the ${clipSeconds} s 1080p25 GOP-50 4 Mbit/s clip (cached in tmp/clips)…`);
  const clip = await ensureTestClip({ seconds: clipSeconds, width: CLIP.width, height: CLIP.height, fps: CLIP.fps, gop: CLIP.gop, bitrate: CLIP.bitrate });

  let kind: SourceKind = mode === 'file' ? 'file' : 'rtsp';
  let rtspGaveOut: { cameras: number; reason: string } | null = null;
  const results: StepResult[] = [];
  const emit = (r: StepResult) => {
    results.push(r);
    opts.onStep?.(r);
  };
  let firstFail: StepResult | undefined;
  // A step that fails while other processes took a share of the machine is measured again (after waiting for
  // quiet), at most MAX_ATTEMPTS times; the line printed is the last attempt, with the earlier ones listed.
  const measure = async (n: number, k: SourceKind): Promise<StepResult> => {
    const earlier: unknown[] = [];
    for (let attempt = 1; ; attempt++) {
      const r = await runStep({ ...base, n, kind: k, clip });
      if (r.holds || !r.disturbed || attempt >= MAX_ATTEMPTS) {
        if (earlier.length) r.earlierAttempts = earlier;
        return r;
      }
      const cpu = r.cpu as { otherProcessesPct: number };
      earlier.push({ failed: r.failed, otherProcessesPct: cpu.otherProcessesPct, at: r.at });
      progress(`${n} cameras failed (${(r.failed as string[]).join(', ')}) while other processes used ${cpu.otherProcessesPct} % of a core: measuring again`);
    }
  };
  for (const n of steps) {
    progress(`=== ${n} cameras, ${kind} sources ===`);
    let r = await measure(n, kind);
    const limited = (r.rtsp as { serverLimited: string | null } | null)?.serverLimited;
    if (!r.holds && kind === 'rtsp' && mode === 'auto' && limited) {
      rtspGaveOut = { cameras: n, reason: limited };
      r.note = `the RTSP test server could not serve ${n} streams on this machine (${limited}); ${n} and the higher steps run again with real-time file sources`;
      emit(r);
      progress(r.note as string);
      kind = 'file';
      r = await measure(n, kind);
    }
    emit(r);
    if (!r.holds) {
      firstFail = r;
      break;
    }
  }
  const held = results.filter((r) => r.holds);
  const best = held.reduce<StepResult | undefined>((a, r) => (!a || r.cameras > a.cameras ? r : a), undefined);
  const cpu = best?.cpu as { pctCorePerCamera: number; nodePctCorePerCamera: number; ffmpegPctCorePerCamera: number } | undefined;
  const mem = best?.memory as { pssMbPerCamera: number } | undefined;
  const summary: Record<string, unknown> = {
    bench: 'capacity',
    summary: true,
    maxCameras: best?.cameras ?? 0,
    pctCorePerCamera: cpu?.pctCorePerCamera ?? null,
    nodePctCorePerCamera: cpu?.nodePctCorePerCamera ?? null,
    ffmpegPctCorePerCamera: cpu?.ffmpegPctCorePerCamera ?? null,
    pssMbPerCamera: mem?.pssMbPerCamera ?? null,
    source: best?.source ?? null,
    sourcesUsed: [...new Set(results.map((r) => r.source))],
    firstFailing: firstFail ? { cameras: firstFail.cameras, source: firstFail.source, failed: firstFail.failed, disturbed: firstFail.disturbed } : null,
    disturbedSteps: results.filter((r) => r.disturbed).map((r) => `${r.cameras} ${r.source}`),
    steppedUpTo: results.at(-1)?.cameras ?? null,
    stepsPlanned: steps,
    rtspServerGaveOut: rtspGaveOut,
    settings: {
      clip: `1920x1080 25 fps H.264, GOP 50, no B-frames, ~4 Mbit/s (${clip.split('/').at(-1)})`,
      sampling: `keyframes, minIntervalSec ${base.minIntervalSec}`,
      decoding: base.shared ? 'shared keyframe decoders (decoding.shared)' : 'each camera decodes in its own ffmpeg',
      detectors: 'defaults (yolox-nano-416 + static-object)',
      zones: 'per camera: no_stacking (stacking, dwell 300) + no_vending (stall, dwell 60)',
      ring: `on, segmentSec 2, keepMinutes ${base.keepMinutes} (short so 200 cameras fit the disk)`,
      camerasPerRtspMount: base.perMount,
      warmupSec: base.warmupSec,
      windowSec: base.windowSec,
      sampleSec: base.sampleSec,
    },
    git: await gitState(),
    machine: machine(),
    at: new Date().toISOString(),
  };
  return { steps: results, summary };
}
