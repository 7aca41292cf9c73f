import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../core/paths.js';
import { freePort } from './net.js';
import { sleep } from './wait.js';

/**
 * A real RTSP server for tests (scripts/rtsp-test-server.py: GStreamer's gst-rtsp-server, H.264 files served
 * without re-encoding) that a test can kill, freeze and restart like a misbehaving street camera.
 */
export interface RtspTestServer {
  port: number;
  url(mount: string): string;
  /** SIGTERM, then SIGKILL after 5 s. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL: the camera dies on the spot (connections reset). */
  kill(): Promise<void>;
  /** SIGSTOP: connections stay open but nothing is sent any more (a hung camera). */
  freeze(): Promise<void>;
  /** SIGCONT after freeze(). */
  thaw(): Promise<void>;
  /** Starts it again on the same port with the same mounts (after stopping it, if it still runs). */
  restart(): Promise<void>;
  /** The server's process id while it runs (for CPU and leftover-process checks), else undefined. */
  readonly pid: number | undefined;
}

export interface RtspServerOptions {
  /** Mount name ('/cam' or 'cam') → MP4 (H.264) file. */
  mounts: Record<string, string>;
  /** Default: a free loopback port. */
  port?: number;
  /** Play each file in a loop forever, like a live camera. Default true. */
  loop?: boolean;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
/** The script's exit code when it cannot listen on the port (see scripts/rtsp-test-server.py). */
const EXIT_CANNOT_LISTEN = 3;
const SCRIPT = join(PROJECT_ROOT, 'scripts', 'rtsp-test-server.sh');

// Every server this process started and that still runs. The 'exit' hook covers a test file that ends or throws
// without stop(); a test process killed outright is covered by --watch-stdin: the server exits when its stdin pipe,
// held by this process, closes.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
});

class StartError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
  ) {
    super(message);
  }
}

function launch(port: number, mounts: Record<string, string>, loop: boolean): Promise<ChildProcess> {
  const args = ['--port', String(port), '--host', '127.0.0.1', '--watch-stdin'];
  for (const [name, file] of Object.entries(mounts)) args.push('--mount', `${name.startsWith('/') ? name : `/${name}`}=${file}`);
  if (loop) args.push('--loop');
  const child = spawn(SCRIPT, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    // Only the tail matters for an error message; a long-running server must not grow this without bound.
    stderr = (stderr + String(c)).slice(-8192);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (c: Buffer) => {
      out += String(c);
      if (out.includes('READY ')) {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.stdout!.off('data', onData);
        child.stdout!.resume(); // nothing more is expected, but a full pipe must never block the server
        resolve(child);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(new StartError(`RTSP test server exited (${signal ?? code}) before it was ready on port ${port}; stderr: ${stderr.trim()}`, code));
    };
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      child.kill('SIGKILL');
      reject(new StartError(`RTSP test server not ready within ${READY_TIMEOUT_MS / 1000} s on port ${port}; stderr: ${stderr.trim()}`, null));
    }, READY_TIMEOUT_MS);
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new StartError(`cannot run ${SCRIPT}: ${e.message}`, null));
    });
  });
}

async function terminate(child: ChildProcess | undefined, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGCONT'); // a frozen server cannot act on SIGTERM
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(t);
}

/**
 * Starts the server and resolves once it listens. Another process can grab the free port between the pick and the
 * server's bind (test files run in parallel): then it tries again on a new port, unless the caller chose the port.
 */
export async function startRtspServer(opts: RtspServerOptions): Promise<RtspTestServer> {
  const loop = opts.loop ?? true;
  let port = opts.port ?? (await freePort());
  let child: ChildProcess | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      child = await launch(port, opts.mounts, loop);
      break;
    } catch (e) {
      if (opts.port !== undefined || attempt >= 3 || !(e instanceof StartError) || e.exitCode !== EXIT_CANNOT_LISTEN) throw e;
      port = await freePort();
    }
  }

  return {
    get port() {
      return port;
    },
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    url: (mount: string) => `rtsp://127.0.0.1:${port}${mount.startsWith('/') ? mount : `/${mount}`}`,
    stop: () => terminate(child, 'SIGTERM', STOP_GRACE_MS),
    kill: () => terminate(child, 'SIGKILL', 0),
    freeze: async () => {
      child?.kill('SIGSTOP');
    },
    thaw: async () => {
      child?.kill('SIGCONT');
    },
    restart: async () => {
      await terminate(child, 'SIGTERM', STOP_GRACE_MS);
      // Same port, as a rebooted camera keeps its address. Something else may hold it for a moment (a client's
      // connection in its last state, a parallel test that picked it as free): retry for a few seconds.
      const deadline = Date.now() + 5_000;
      for (;;) {
        try {
          child = await launch(port, opts.mounts, loop);
          return;
        } catch (e) {
          if (!(e instanceof StartError) || e.exitCode !== EXIT_CANNOT_LISTEN || Date.now() > deadline) throw e;
          await sleep(250);
        }
      }
    },
  };
}
