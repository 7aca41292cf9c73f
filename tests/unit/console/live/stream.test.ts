import { EventEmitter } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LiveConfig } from '../../../../config/console.js';
import type { ResolvedCamera } from '../../../../config/schema.js';
import { LiveHub, type LiveHubOptions } from '../../../../console/live/hub.js';
import { closeSocket, type LiveSocket } from '../../../../console/live/stream.js';
import { testCamera } from '../../../helpers/factories.js';
import { memoryLogger } from '../../../helpers/pipeline.js';
import { sleep, waitFor } from '../../../helpers/wait.js';

/**
 * A fake ffmpeg (a node script) makes start, share, linger, restart, limit and stop deterministic. It records
 * each spawn (pid and arguments) in $FAKE_FFMPEG_DIR/spawns and reads what to do from $FAKE_FFMPEG_DIR/mode
 * when it starts:
 *   ok             print the stream listing, then a 188-byte TS packet every 20 ms; quit on 'q'
 *   die:<ms>       like ok, but lose the "camera" after <ms>
 *   refused        a camera that is not there (retriable)
 *   nofile         a missing file (not retriable)
 *   freeze:<ms>    like ok, but stops writing after <ms> and stays alive (a hung camera)
 *   stubborn       like ok, but ignores 'q' and SIGTERM (only SIGKILL ends it)
 */
const FAKE = String.raw`
const fs = require('node:fs');
const dir = process.env.FAKE_FFMPEG_DIR;
const modeFile = dir + '/mode';
const mode = fs.existsSync(modeFile) ? fs.readFileSync(modeFile, 'utf8').trim() : 'ok';
const args = process.argv.slice(2);
fs.appendFileSync(dir + '/spawns', JSON.stringify({ pid: process.pid, mode, args }) + '\n');
const err = (s) => process.stderr.write(s + '\n');
err("Input #0, rtsp, from 'rtsp://127.0.0.1:1/cam':");
err('  Stream #0:0: Video: h264 (High), yuv420p(progressive), 1920x1080 [SAR 1:1 DAR 16:9], 25 fps, 25 tbr, 90k tbn');
if (mode === 'refused') { err('[tcp @ 0x1] Connection to tcp://127.0.0.1:1?timeout=0 failed: Connection refused'); process.exit(1); }
if (mode === 'nofile') { err('/x/missing.mp4: No such file or directory'); process.exit(1); }
const vf = args[args.indexOf('-vf') + 1] || 'scale=640:-2';
const w = Number(/scale=(\d+)/.exec(vf)[1]);
const h = Math.round((w * 1080) / 1920 / 2) * 2;
err("Output #0, mpegts, to 'pipe:':");
err('  Stream #0:0: Video: mpeg1video, yuv420p(tv, progressive), ' + w + 'x' + h + ' [SAR 1:1 DAR 16:9], q=2-31, 800 kb/s, 15 fps, 90k tbn');
let n = 0;
const timer = setInterval(() => {
  const p = Buffer.alloc(188, 0xff);
  p[0] = 0x47;
  p.writeUInt32BE(n++, 4);
  process.stdout.write(p);
}, 20);
process.stdin.on('data', (d) => {
  if (String(d).includes('q') && mode !== 'stubborn') {
    fs.appendFileSync(dir + '/quit', process.pid + ' q\n');
    clearInterval(timer);
    process.exit(0);
  }
});
if (mode === 'stubborn') process.on('SIGTERM', () => fs.appendFileSync(dir + '/quit', process.pid + ' ignored SIGTERM\n'));
if (mode.startsWith('freeze:')) setTimeout(() => clearInterval(timer), Number(mode.slice(7)));
if (mode.startsWith('die:')) setTimeout(() => { err('Connection reset by peer'); process.exit(1); }, Number(mode.slice(4)));
`;

let fakeDir: string;
let fakeFfmpeg: string;

beforeAll(() => {
  fakeDir = mkdtempSync(join(tmpdir(), 'sw-fake-ffmpeg-'));
  fakeFfmpeg = join(fakeDir, 'ffmpeg');
  writeFileSync(fakeFfmpeg, `#!${process.execPath}\n${FAKE}`);
  chmodSync(fakeFfmpeg, 0o755);
  process.env.FAKE_FFMPEG_DIR = fakeDir;
});
afterAll(() => rmSync(fakeDir, { recursive: true, force: true }));

beforeEach(() => {
  for (const f of ['spawns', 'quit', 'mode']) rmSync(join(fakeDir, f), { force: true });
});

function setMode(mode: string): void {
  writeFileSync(join(fakeDir, 'mode'), mode);
}
function spawns(): { pid: number; mode: string; args: string[] }[] {
  const f = join(fakeDir, 'spawns');
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : [];
}
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
function aliveFakes(): number[] {
  return spawns().map((s) => s.pid).filter(alive);
}
function quits(): string {
  const f = join(fakeDir, 'quit');
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
}

/** A WebSocket as far as the hub can tell: records what is sent and how it was closed. */
class FakeSocket extends EventEmitter implements LiveSocket {
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: Buffer[] = [];
  closed: { code?: number; reason?: string } | undefined;
  send(data: Buffer): void {
    this.sent.push(Buffer.from(data));
  }
  close(code?: number, reason?: string): void {
    if (this.readyState !== 1) return;
    this.readyState = 3;
    this.closed = { code, reason };
    setImmediate(() => this.emit('close', code ?? 1005, Buffer.from(reason ?? '')));
  }
  /** The viewer goes away (tab closed). */
  leave(): void {
    if (this.readyState !== 1) return;
    this.readyState = 3;
    this.emit('close', 1001, Buffer.alloc(0));
  }
  headers(): Buffer[] {
    return this.sent.filter((b) => b.length === 8 && b.subarray(0, 4).toString('ascii') === 'jsmp');
  }
  data(): Buffer[] {
    return this.sent.filter((b) => b[0] === 0x47);
  }
}

const rtsp = (id: string): ResolvedCamera =>
  testCamera({
    id,
    source: { kind: 'rtsp', url: `rtsp://user:secret@127.0.0.1:1/${id}`, transport: 'tcp', timeoutSec: 2 },
    reconnect: { initialSec: 0.1, maxSec: 0.4, factor: 2, jitter: 0 },
  });

const hubs: LiveHub[] = [];
function makeHub(live: Partial<LiveConfig> = {}, cameras: ResolvedCamera[] = [rtsp('cam1'), rtsp('cam2')], over: Partial<LiveHubOptions> = {}) {
  const { log, lines } = memoryLogger();
  const config: LiveConfig = { width: 640, fps: 15, bitrateKbps: 800, maxStreams: 8, lingerSec: 0.3, ...live };
  const hub = new LiveHub({ config, log, camera: (id) => { const camera = cameras.find((c) => c.id === id); return camera && { camera, baseDir: '/cfg' }; }, ffmpegPath: fakeFfmpeg, stopStepMs: 300, ...over });
  hubs.push(hub);
  return { hub, lines };
}
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.stop()));
  expect(aliveFakes()).toEqual([]);
});

describe('live stream: one ffmpeg per camera, only while watched', () => {
  it('no ffmpeg before the first viewer; the first viewer starts it, gets the header first, then TS data', async () => {
    const { hub } = makeHub();
    await hub.start();
    await sleep(100);
    expect(spawns()).toEqual([]);
    expect(hub.status('cam1')).toEqual({ available: true, viewers: 0, running: false });

    const a = new FakeSocket();
    hub.attach('cam1', a);
    await waitFor(() => a.data().length >= 3, 5000, 'data for the first viewer');
    expect(spawns().length).toBe(1);
    const header = a.sent[0]!;
    expect(header.subarray(0, 4).toString('ascii')).toBe('jsmp');
    expect([header.readUInt16BE(4), header.readUInt16BE(6)]).toEqual([640, 360]);
    expect(a.headers().length).toBe(1);
    expect(hub.status('cam1')).toEqual({ available: true, viewers: 1, running: true });

    const { args } = spawns()[0]!;
    expect(args.join(' ')).toContain('-rtsp_transport tcp -timeout 2000000 -i rtsp://user:secret@127.0.0.1:1/cam1');
    expect(args.join(' ')).toContain('-vf scale=640:-2 -r 15 -b:v 800k -bf 0 -codec:v mpeg1video -strict unofficial -an -f mpegts -');
  });

  it('a second viewer shares the running ffmpeg and gets its own header before any data', async () => {
    const { hub } = makeHub();
    await hub.start();
    const a = new FakeSocket();
    hub.attach('cam1', a);
    await waitFor(() => a.data().length >= 2, 5000, 'data for a');
    const b = new FakeSocket();
    hub.attach('cam1', b);
    expect(b.sent[0]!.subarray(0, 4).toString('ascii')).toBe('jsmp');
    await waitFor(() => b.data().length >= 3, 5000, 'data for b');
    expect(spawns().length).toBe(1);
    expect(aliveFakes().length).toBe(1);
    expect(hub.status('cam1').viewers).toBe(2);
    // the same chunks reach both
    const last = b.data().at(-1)!;
    expect(a.data().some((c) => c.equals(last))).toBe(true);
  });

  it("stops lingerSec after the last viewer left ('q' first); a reload within the linger keeps the same ffmpeg", async () => {
    const { hub } = makeHub({ lingerSec: 0.5 });
    await hub.start();
    const a = new FakeSocket();
    hub.attach('cam1', a);
    await waitFor(() => a.data().length >= 1, 5000, 'data');
    const pid = spawns()[0]!.pid;

    a.leave(); // a reload: the page reconnects at once
    await sleep(150);
    expect(alive(pid)).toBe(true);
    const again = new FakeSocket();
    hub.attach('cam1', again);
    await sleep(700); // longer than the linger: the reconnected viewer holds it
    expect(alive(pid)).toBe(true);
    expect(spawns().length).toBe(1);

    const leftAt = Date.now();
    again.leave();
    expect(hub.status('cam1').running).toBe(true);
    await waitFor(() => !alive(pid) && !hub.status('cam1').running, 5000, 'ffmpeg gone after the linger');
    expect(Date.now() - leftAt).toBeGreaterThanOrEqual(450);
    expect(quits()).toContain(`${pid} q`);
    expect(hub.status('cam1')).toEqual({ available: true, viewers: 0, running: false });

    // and the next viewer starts a new one
    const later = new FakeSocket();
    hub.attach('cam1', later);
    await waitFor(() => later.data().length >= 1, 5000, 'data after a fresh start');
    expect(spawns().length).toBe(2);
  });

  it('lingerSec 0: stops as soon as the last viewer leaves', async () => {
    const { hub } = makeHub({ lingerSec: 0 });
    await hub.start();
    const a = new FakeSocket();
    hub.attach('cam1', a);
    await waitFor(() => a.data().length >= 1, 5000, 'data');
    a.leave();
    await waitFor(() => aliveFakes().length === 0 && !hub.status('cam1').running, 3000, 'ffmpeg gone');
  });
});

describe('live stream: failures', () => {
  it('ffmpeg ending while watched is restarted with backoff; the viewer stays and gets data again, header only once', async () => {
    const { hub, lines } = makeHub();
    await hub.start();
    setMode('die:300');
    const a = new FakeSocket();
    hub.attach('cam1', a);
    await waitFor(() => spawns().length >= 2, 5000, 'a restart');
    setMode('ok');
    await waitFor(() => spawns().some((s) => s.mode === 'ok'), 5000, 'a restart that stays up');
    const before = a.data().length;
    await waitFor(() => a.data().length > before + 5, 5000, 'data after the restart');
    expect(a.readyState).toBe(1);
    expect(a.closed).toBeUndefined();
    expect(a.headers().length).toBe(1);
    expect(hub.stats().cam1!.restarts).toBeGreaterThanOrEqual(1);
    const warn = lines.find((l) => String(l.msg).startsWith('live stream down, restarting'));
    expect(warn).toBeDefined();
    expect(JSON.stringify(lines)).not.toContain('secret');
  });

  it('ffmpeg alive but silent for watchdogSec is stopped and restarted', async () => {
    const cam = { ...rtsp('cam1'), watchdogSec: 0.5 };
    const { hub, lines } = makeHub({}, [cam]);
    await hub.start();
    setMode('freeze:300');
    const a = new FakeSocket();
    hub.attach('cam1', a);
    await waitFor(() => a.data().length >= 1, 5000, 'data');
    const first = spawns()[0]!.pid;
    setMode('ok');
    await waitFor(() => spawns().length >= 2, 5000, 'a restart after the stall');
    expect(alive(first)).toBe(false);
    expect(lines.some((l) => String(l.msg).includes('no output within the watchdog time'))).toBe(true);
    const n = a.data().length;
    await waitFor(() => a.data().length > n + 3, 5000, 'data again');
    expect(a.headers().length).toBe(1);
  });

  it('a camera that cannot be reached is retried while someone watches, and given up when they leave', async () => {
    const { hub } = makeHub({ lingerSec: 0.2 });
    await hub.start();
    setMode('refused');
    const a = new FakeSocket();
    hub.attach('cam1', a);
    await waitFor(() => spawns().length >= 3, 5000, 'three attempts');
    expect(a.closed).toBeUndefined();
    // backoff: 100, 200, 400, 400 ms… (jitter 0): attempts are spaced, not a busy loop
    a.leave();
    await waitFor(() => !hub.status('cam1').running, 3000, 'the stream ends');
    const n = spawns().length;
    await sleep(600);
    expect(spawns().length).toBe(n);
  });

  it('a failure that retrying cannot fix (missing file) closes the viewers with 1011 and frees the slot', async () => {
    const file = testCamera({ id: 'rec', source: { kind: 'file', path: '/x/missing.mp4', loop: true, realtime: true } });
    const { hub } = makeHub({ maxStreams: 1 }, [file, rtsp('cam1')]);
    await hub.start();
    setMode('nofile');
    const a = new FakeSocket();
    hub.attach('rec', a);
    await waitFor(() => a.closed !== undefined, 5000, 'the viewer closed');
    expect(a.closed!.code).toBe(1011);
    expect(a.closed!.reason).toContain('SOURCE_NOT_FOUND');
    expect(spawns().length).toBe(1);
    expect(spawns()[0]!.args).toEqual(expect.arrayContaining(['-re', '-stream_loop', '-1', '-i', '/x/missing.mp4']));
    await waitFor(() => !hub.status('rec').running, 3000, 'slot freed');
    setMode('ok');
    const b = new FakeSocket();
    hub.attach('cam1', b);
    await waitFor(() => b.data().length >= 1, 5000, 'another camera can use the slot');
  });

  it('no ffmpeg on the machine: the viewer is closed with 1011 FFMPEG_MISSING', async () => {
    const { hub, lines } = makeHub({}, undefined, { ffmpegPath: join(fakeDir, 'no-such-ffmpeg') });
    await hub.start();
    const a = new FakeSocket();
    hub.attach('cam1', a);
    await waitFor(() => a.closed !== undefined, 5000, 'the viewer closed');
    expect(a.closed).toMatchObject({ code: 1011 });
    expect(a.closed!.reason).toContain('FFMPEG_MISSING');
    expect(lines.some((l) => String(l.msg).includes('apt-get install -y ffmpeg'))).toBe(true);
    await waitFor(() => !hub.status('cam1').running, 3000, 'slot freed');
  });

  it('an unknown camera is closed with 4404 and a reason', async () => {
    const { hub } = makeHub();
    await hub.start();
    const a = new FakeSocket();
    hub.attach('nope', a);
    expect(a.closed).toEqual({ code: 4404, reason: "unknown camera 'nope'" });
    expect(hub.status('nope')).toEqual({ available: false, viewers: 0, running: false });
    expect(spawns()).toEqual([]);
  });
});

describe('live stream: limits', () => {
  it('maxStreams: one camera more is refused with 1013 naming the limit; more viewers of a running one are fine', async () => {
    const { hub } = makeHub({ maxStreams: 1, lingerSec: 0.2 });
    await hub.start();
    const a = new FakeSocket();
    hub.attach('cam1', a);
    await waitFor(() => a.data().length >= 1, 5000, 'cam1 data');
    const shared = new FakeSocket();
    hub.attach('cam1', shared);
    expect(shared.closed).toBeUndefined();

    const b = new FakeSocket();
    hub.attach('cam2', b);
    expect(b.closed?.code).toBe(1013);
    expect(b.closed?.reason).toContain('console.live.maxStreams');
    expect(b.closed?.reason).toContain('1');
    expect(Buffer.byteLength(b.closed!.reason!)).toBeLessThanOrEqual(123);
    expect(spawns().length).toBe(1);

    // the slot is free once cam1's ffmpeg is gone (after the linger)
    a.leave();
    shared.leave();
    await waitFor(() => !hub.status('cam1').running, 3000, 'cam1 stopped');
    const c = new FakeSocket();
    hub.attach('cam2', c);
    await waitFor(() => c.data().length >= 1, 5000, 'cam2 data');
    expect(aliveFakes().length).toBe(1);
  });

  it('a slow viewer gets no chunks while over the limit (counted), catches up, and is closed if it stays slow', async () => {
    const drops: number[] = [];
    const { hub, lines } = makeHub({}, undefined, { maxBufferedBytes: 1000, slowViewerCloseMs: 400, onDrop: (_c, bytes) => drops.push(bytes) });
    await hub.start();
    const fast = new FakeSocket();
    const slow = new FakeSocket();
    hub.attach('cam1', fast);
    hub.attach('cam1', slow);
    await waitFor(() => slow.data().length >= 2, 5000, 'data');
    slow.bufferedAmount = 5000;
    const got = slow.data().length;
    await sleep(200);
    expect(slow.data().length).toBe(got);
    expect(hub.stats().cam1!.droppedChunks).toBeGreaterThanOrEqual(2);
    expect(drops.length).toBe(hub.stats().cam1!.droppedChunks);
    expect(lines.some((l) => l.drop === 'live_slow_viewer')).toBe(true);
    slow.bufferedAmount = 0;
    await waitFor(() => slow.data().length > got, 2000, 'the viewer catches up');

    slow.bufferedAmount = 5000;
    await waitFor(() => slow.closed !== undefined, 3000, 'the slow viewer closed');
    expect(slow.closed!.code).toBe(1008);
    expect(slow.closed!.reason).toContain('too slow');
    // the other viewer never noticed
    const n = fast.data().length;
    await waitFor(() => fast.data().length > n + 3, 2000, 'the fast viewer still gets data');
    expect(fast.closed).toBeUndefined();
    expect(hub.status('cam1').viewers).toBe(1);
  });
});

describe('closeSocket', () => {
  it('cuts a reason to the 123 bytes a close frame allows, multi-byte characters included', () => {
    const s = new FakeSocket();
    closeSocket(s, 1011, `camera '${'街道'.repeat(60)}' failed`);
    expect(s.closed!.code).toBe(1011);
    expect(Buffer.byteLength(s.closed!.reason!)).toBeLessThanOrEqual(123);
    expect(s.closed!.reason!.endsWith('…')).toBe(true);
    const short = new FakeSocket();
    closeSocket(short, 1013, 'try again later');
    expect(short.closed!.reason).toBe('try again later');
  });
});

describe('live hub: start and stop', () => {
  it('refuses viewers before start()', () => {
    const { hub } = makeHub();
    const a = new FakeSocket();
    hub.attach('cam1', a);
    expect(a.closed?.code).toBe(1013);
  });

  it("stop() closes every viewer (1001) and ends every ffmpeg, even one that ignores 'q' and SIGTERM; idempotent", async () => {
    const { hub } = makeHub();
    await hub.start();
    setMode('stubborn');
    const a = new FakeSocket();
    const b = new FakeSocket();
    hub.attach('cam1', a);
    hub.attach('cam2', b);
    await waitFor(() => a.data().length >= 1 && b.data().length >= 1, 5000, 'both streams up');
    expect(aliveFakes().length).toBe(2);
    const t0 = Date.now();
    const p1 = hub.stop();
    const p2 = hub.stop();
    expect(p2).toBe(p1);
    await p1;
    // 'q' (300 ms), SIGTERM (300 ms), then SIGKILL
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
    expect(aliveFakes()).toEqual([]);
    expect(quits()).toContain('ignored SIGTERM');
    expect(a.closed?.code).toBe(1001);
    expect(b.closed?.code).toBe(1001);
    const after = new FakeSocket();
    hub.attach('cam1', after);
    expect(after.closed?.code).toBe(1001);
  });
});
