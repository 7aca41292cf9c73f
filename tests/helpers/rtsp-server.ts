import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../core/paths.js';
import { freePort } from './net.js';

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
  /** Starts it again on the same port with the same mounts. */
  restart(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

function launch(port: number, mounts: Record<string, string>, loop: boolean): Promise<ChildProcess> {
  const args = [join(PROJECT_ROOT, 'scripts/rtsp-test-server.py'), '--port', String(port), '--host', '127.0.0.1'];
  for (const [name, file] of Object.entries(mounts)) args.push('--mount', `${name.startsWith('/') ? name : `/${name}`}=${file}`);
  if (loop) args.push('--loop');
  // GStreamer's Python bindings exist only for Debian's interpreter, not for a python3 earlier on PATH.
  const child = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`RTSP test server not ready within 10 s on port ${port}; stderr: ${err}`));
    }, 10_000);
    child.stdout!.on('data', (c) => {
      out += String(c);
      if (out.includes('READY')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr!.on('data', (c) => (err += String(c)));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`RTSP test server exited (${code}) before it was ready; stderr: ${err}`));
    });
  });
}

async function terminate(child: ChildProcess | undefined, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGCONT'); // a frozen server cannot handle SIGTERM
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(t);
}

export async function startRtspServer(opts: { mounts: Record<string, string>; port?: number; loop?: boolean }): Promise<RtspTestServer> {
  const loop = opts.loop ?? true;
  let port = opts.port ?? (await freePort());
  let child = await launch(port, opts.mounts, loop);
  return {
    get port() {
      return port;
    },
    url: (mount: string) => `rtsp://127.0.0.1:${port}${mount.startsWith('/') ? mount : `/${mount}`}`,
    stop: () => terminate(child, 'SIGTERM', 5000),
    kill: () => terminate(child, 'SIGKILL', 0),
    freeze: async () => {
      child.kill('SIGSTOP');
    },
    thaw: async () => {
      child.kill('SIGCONT');
    },
    restart: async () => {
      await terminate(child, 'SIGTERM', 5000);
      // The port can linger briefly after a kill; retry a few times before giving up.
      for (let i = 0; ; i++) {
        try {
          child = await launch(port, opts.mounts, loop);
          return;
        } catch (e) {
          if (i >= 5) throw e;
          await new Promise((r) => setTimeout(r, 500));
          if (opts.port === undefined && i === 4) port = await freePort();
        }
      }
    },
  };
}
