import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAsset } from '../../core/assets.js';
import { createLogger } from '../../core/log.js';
import { PROJECT_ROOT } from '../../core/paths.js';
import { loadKeyFiles, type EvidenceKeys } from '../../dispatcher/evidence/keys.js';
import { EvidencePackager, type EvidencePackage, type EvidenceRequest } from '../../dispatcher/evidence/packager.js';

/**
 * Evidence end to end with real ffmpeg on the real Oxford street clip: a time-named ring of ~2 s MPEG-TS
 * segments (stream copy, as the decoder writes it), packaged into stills, annotated copies, a clip, meta and a
 * signed chained manifest; verified through the CLI; then one byte of one still changed.
 */

const exec = promisify(execFile);
const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const { stdout, stderr } = await exec(process.execPath, [join(PROJECT_ROOT, 'bin/streetwatch.js'), ...args], { cwd: PROJECT_ROOT, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
};
const ffprobeJson = async (args: string[]) => JSON.parse((await exec('ffprobe', ['-v', 'error', '-of', 'json', ...args], { maxBuffer: 1 << 26 })).stdout);
const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const pad = (n: number) => String(n).padStart(2, '0');
/** The ring's name for a local start time, as ffmpeg's strftime writes it (whole seconds, local time). */
const ringName = (ms: number) => {
  const d = new Date(ms);
  return `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}T${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}.ts`;
};

const SRC = resolveAsset('oxford_towncentre_pedestrians.mp4');
let work: string;
let ringDir: string;
let root: string;
let keysDir: string;
let keys: EvidenceKeys;
let base: number;
let packager: EvidencePackager;
let segmentsUsed: string[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sw-evidence-'));
  ringDir = join(work, 'ring');
  root = join(work, 'evidence');
  keysDir = join(work, 'keys');
  mkdirSync(ringDir, { recursive: true });
  // ~11.5 s of real video (the 3.84 s clip played three times), cut like the decoder's ring output.
  const raw = join(work, 'raw');
  mkdirSync(raw);
  await exec('ffmpeg', ['-nostdin', '-y', '-loglevel', 'error', '-stream_loop', '2', '-i', SRC, '-map', '0:v:0', '-c:v', 'copy', '-an',
    '-f', 'segment', '-segment_time', '2', '-segment_format', 'mpegts', '-reset_timestamps', '1',
    '-segment_list', join(raw, 'list.csv'), '-segment_list_type', 'csv', join(raw, 'seg%03d.ts')]);
  // The ring as a live camera would have left it two minutes ago: each segment named by its local start time.
  base = Math.floor((Date.now() - 120_000) / 1000) * 1000;
  for (const line of readFileSync(join(raw, 'list.csv'), 'utf8').trim().split('\n')) {
    const [file, start] = line.split(',');
    renameSync(join(raw, file!), join(ringDir, ringName(base + Number(start) * 1000)));
  }
  const made = await cli('keys', 'init', '--dir', keysDir);
  expect(made.code, made.stderr).toBe(0);
  keys = loadKeyFiles(keysDir);
  packager = new EvidencePackager({ root, keys, log: createLogger({ level: 'silent' }), clipBeforeSec: 1, clipAfterSec: 1, timezone: 'Asia/Shanghai' });
  await packager.start();
});

afterAll(async () => {
  await packager?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const request = (over: Partial<EvidenceRequest> = {}): EvidenceRequest => ({
  incidentId: 'inc-0001',
  revision: 1,
  camera: { id: 'cam-oxford-1', name: '牛津街 1号 摄像机', address: '人民路 12号', lat: 31.2304, lon: 121.4737 },
  source: { kind: 'ring', dir: ringDir },
  zone: { id: 'z-shopfront', kind: 'shopfront', name: '店外经营区', polygon: [[0.05, 0.55], [0.6, 0.55], [0.6, 0.98], [0.05, 0.98]] },
  rule: { type: 'door_front', dwellSec: 4 },
  shop: { id: 'shop-7', name: '老王水果店', licence: '91310000MA1K' },
  box: [0.3, 0.6, 0.45, 0.9],
  moments: { firstSeenMs: base + 1000, confirmedMs: base + 5000, latestMs: base + 8500 },
  detectors: [{ id: 'yolox-nano', version: '1.0.0', thresholds: { score: 0.35 } }, { id: 'static-object', version: '0.3.0' }],
  ...over,
});

const timings: Record<string, number> = {};
let ringPkg: EvidencePackage;

describe('evidence package from a real segment ring', () => {
  it('has full-resolution stills, annotated copies, a stream-copied clip, meta and a manifest whose hashes match', async () => {
    ringPkg = await packager.package(request());
    timings.ring = ringPkg.elapsedMs;
    const names = ringPkg.files.map((f) => f.name);
    expect(names).toEqual([
      'annotated-confirmed.jpg', 'annotated-first.jpg', 'annotated-latest.jpg', 'clip.mp4', 'meta.json',
      'still-confirmed.png', 'still-first.png', 'still-latest.png', 'manifest.json',
    ]);
    expect(ringPkg.missing).toEqual([]);
    expect(ringPkg.dir).toBe(join(root, 'inc-0001', 'r1'));

    // Stills: the camera's own resolution, no scaling.
    for (const m of ['first', 'confirmed', 'latest']) {
      for (const f of [`still-${m}.png`, `annotated-${m}.jpg`]) {
        const md = await sharp(join(ringPkg.dir, f)).metadata();
        expect([md.width, md.height], f).toEqual([1920, 1080]);
      }
    }
    // The annotation changed the picture (box, zone, caption), the original did not get touched.
    const [orig, ann] = await Promise.all(['still-confirmed.png', 'annotated-confirmed.jpg'].map((f) => sharp(join(ringPkg.dir, f)).removeAlpha().resize(192, 108).raw().toBuffer()));
    let diff = 0;
    for (let i = 0; i < orig!.length; i++) diff += Math.abs(orig![i]! - ann![i]!);
    expect(diff / orig!.length).toBeGreaterThan(3);

    // Every hash in the manifest is the file's.
    const manifest = JSON.parse(readFileSync(join(ringPkg.dir, 'manifest.json'), 'utf8'));
    expect(manifest.seq).toBe(1);
    expect(manifest.previous).toBeNull();
    expect(manifest.signature.alg).toBe('Ed25519');
    for (const f of manifest.files) expect(sha256(join(ringPkg.dir, f.name)), f.name).toBe(f.sha256);
    expect(sha256(join(ringPkg.dir, 'manifest.json'))).toBe(ringPkg.manifestSha256);
    for (const f of ringPkg.files) expect(f.uri).toBe(`file://${join(ringPkg.dir, f.name)}`);

    const meta = JSON.parse(readFileSync(join(ringPkg.dir, 'meta.json'), 'utf8'));
    expect(meta.times.firstSeen).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$/);
    expect(new Date(meta.times.confirmed).getTime()).toBe(base + 5000);
    expect(meta.detectors).toEqual(request().detectors);
    expect(meta.rule).toMatchObject({ type: 'door_front', dwellSec: 4 });
    expect(meta.shop.name).toBe('老王水果店');
    expect(meta.place.position).toEqual({ lat: 31.2304, lon: 121.4737 });
    expect(meta.missing).toEqual([]);
    segmentsUsed = meta.clip.segments;
    expect(segmentsUsed.length).toBeGreaterThanOrEqual(4);
  });

  it('the clip plays and is the ring bits, not a re-encode', async () => {
    const clip = join(ringPkg.dir, 'clip.mp4');
    const src = await ffprobeJson(['-show_streams', '-select_streams', 'v:0', SRC]);
    const got = await ffprobeJson(['-show_streams', '-show_format', clip]);
    expect(got.streams).toHaveLength(1);
    for (const k of ['codec_name', 'profile', 'level', 'width', 'height', 'pix_fmt']) expect(got.streams[0][k], k).toBe(src.streams[0][k]);
    expect(Number(got.format.duration)).toBeGreaterThan(7);
    // Decodes end to end without an error.
    const dec = await exec('ffmpeg', ['-nostdin', '-v', 'error', '-i', clip, '-f', 'null', '-']);
    expect(dec.stderr.trim()).toBe('');
    // The same packets as the ring segments it came from: same count, same sizes but for the few bytes of
    // framing that MPEG-TS (start codes) and MP4 (length prefixes) differ by, and the same decoded pictures.
    // A re-encode changes the sizes of nearly every packet.
    const sizes = async (f: string) => ((await ffprobeJson(['-select_streams', 'v:0', '-show_entries', 'packet=size', f])).packets as { size: string }[]).map((p) => Number(p.size));
    const ringSizes = (await Promise.all(segmentsUsed.map((s) => sizes(join(ringDir, s))))).flat();
    const clipSizes = await sizes(clip);
    expect(clipSizes).toHaveLength(ringSizes.length);
    clipSizes.forEach((n, i) => expect(Math.abs(n - ringSizes[i]!), `packet ${i}`).toBeLessThanOrEqual(8));
    const md5s = async (files: string[]) => {
      const out: string[] = [];
      for (const f of files) {
        const { stdout } = await exec('ffmpeg', ['-nostdin', '-v', 'error', '-i', f, '-map', '0:v:0', '-f', 'framemd5', '-'], { maxBuffer: 1 << 26 });
        out.push(...stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').at(-1)!.trim()));
      }
      return out;
    };
    expect(await md5s([clip])).toEqual(await md5s(segmentsUsed.map((s) => join(ringDir, s))));
  });

  it('a file source is packaged too (stills by PTS, clip cut with -c copy)', async () => {
    const pkg = await packager.package(request({
      incidentId: 'inc-0002',
      source: { kind: 'file', path: SRC, startWallMs: base },
      moments: { firstSeenMs: base + 500, confirmedMs: base + 2000, latestMs: base + 3500 },
    }));
    timings.file = pkg.elapsedMs;
    expect(pkg.missing).toEqual([]);
    expect(pkg.seq).toBe(2);
    for (const m of ['first', 'confirmed', 'latest']) {
      const md = await sharp(join(pkg.dir, `still-${m}.png`)).metadata();
      expect([md.width, md.height]).toEqual([1920, 1080]);
    }
    const got = await ffprobeJson(['-show_streams', join(pkg.dir, 'clip.mp4')]);
    expect(got.streams.find((s: { codec_type: string }) => s.codec_type === 'video')).toMatchObject({ codec_name: 'h264', profile: 'Constrained Baseline', width: 1920, height: 1080 });
    const manifest = JSON.parse(readFileSync(join(pkg.dir, 'manifest.json'), 'utf8'));
    expect(manifest.previous).toBe(ringPkg.manifestSha256);
  });

  it('a moment no longer in the ring is recorded as missing, never invented', async () => {
    const pkg = await packager.package(request({ revision: 2, moments: { firstSeenMs: base + 1000, confirmedMs: base + 5000, latestMs: base + 90_000 } }));
    timings.revision2 = pkg.elapsedMs;
    expect(pkg.dir).toBe(join(root, 'inc-0001', 'r2'));
    expect(pkg.missing.map((m) => m.item).sort()).toEqual(['clip.mp4', 'still-latest.png']);
    expect(pkg.missing[0]!.reason).toMatch(/after the end of the newest ring segment/);
    expect((await readdir(pkg.dir)).sort()).toEqual(['manifest.json', 'meta.json']);
    const meta = JSON.parse(readFileSync(join(pkg.dir, 'meta.json'), 'utf8'));
    expect(meta.missing).toEqual(pkg.missing);
    await expect(packager.package(request())).rejects.toMatchObject({ code: 'EVIDENCE_EXISTS' });
  });

  it('evidence verify (CLI) exits 0 on the package and on the root', async () => {
    const key = join(keysDir, 'evidence-ed25519.pub');
    const one = await cli('evidence', 'verify', ringPkg.dir, '--key', key);
    expect(one.code, one.stdout + one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^OK: /m);
    const all = await cli('evidence', 'verify', root, '--key', key, '--json');
    expect(all.code, all.stdout + all.stderr).toBe(0);
    expect(JSON.parse(all.stdout)).toMatchObject({ ok: true, kind: 'root', checked: { packages: 3 } });
    console.log(JSON.stringify({ evidencePackageMs: timings }));
  });

  it('change one byte of a still: verify exits 1 naming that file', async () => {
    const key = join(keysDir, 'evidence-ed25519.pub');
    const still = join(ringPkg.dir, 'still-confirmed.png');
    const buf = readFileSync(still);
    const at = Math.floor(buf.length / 2);
    buf[at] = buf[at]! ^ 0x01;
    writeFileSync(still, buf);
    const one = await cli('evidence', 'verify', ringPkg.dir, '--key', key);
    expect(one.code).toBe(1);
    const lines = one.stdout.trim().split('\n');
    expect(lines).toHaveLength(2); // the one problem and the summary
    expect(lines[0]).toMatch(/^CHANGED\s+still-confirmed\.png: /);
    const all = await cli('evidence', 'verify', root, '--key', key);
    expect(all.code).toBe(1);
    expect(all.stdout).toMatch(/^CHANGED\s+inc-0001\/r1\/still-confirmed\.png: /m);
    expect(all.stdout.match(/^[A-Z_]+\s+\S+: /gm)).toHaveLength(1);
    // Bad usage is 2, not 1: a script must not read "no key" as "tampered".
    expect((await cli('evidence', 'verify', root, '--key', join(work, 'nope.pub'))).code).toBe(2);
    expect((await cli('evidence', 'verify')).code).toBe(2);
  });
});
