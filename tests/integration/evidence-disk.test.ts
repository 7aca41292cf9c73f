import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAsset } from '../../core/assets.js';
import { PROJECT_ROOT } from '../../core/paths.js';
import { createLogger } from '../../core/log.js';
import { createMetrics } from '../../core/metrics.js';
import { readChain } from '../../dispatcher/evidence/chain.js';
import { freeBytes } from '../../dispatcher/evidence/disk.js';
import { generateEvidenceKeys } from '../../dispatcher/evidence/keys.js';
import { EvidencePackager, type EvidencePackagerOptions, type EvidenceRequest } from '../../dispatcher/evidence/packager.js';
import { configSchema } from '../../config/schema.js';
import { DispatchStage } from '../../dispatcher/stage.js';
import { createTransport } from '../../dispatcher/transport.js';
import { hitAt } from '../helpers/factories.js';
import { oxfordFrame } from '../helpers/frames.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Evidence on a disk that cannot take it, for real: a 2 MB tmpfs (one 1080p PNG still of the Oxford clip is
 * ~1.4 MB, so a full package overflows it while its three stills are being cut at once) and a tmpfs remounted
 * read-only. Mounting needs root (CAP_SYS_ADMIN); without it the suite is skipped and says why.
 */

const exec = promisify(execFile);
const SRC = resolveAsset('oxford_towncentre_pedestrians.mp4');
const keys = generateEvidenceKeys();
const log = createLogger({ level: 'silent' });

const work = mkdtempSync(join(tmpdir(), 'sw-evidence-disk-'));
const mounted: string[] = [];
function mountTmpfs(name: string, size: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  mounted.push(dir);
  return dir;
}
const remount = (dir: string, mode: 'ro' | 'rw') => execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' });

let cannotMount: string | undefined;
try {
  mountTmpfs('probe', '64k');
} catch (e) {
  cannotMount = `cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN): ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
  console.warn(`evidence-disk: skipped — ${cannotMount}`);
}

afterAll(() => {
  for (const dir of mounted.reverse()) {
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' });
    } catch (e) {
      console.warn(`evidence-disk: could not unmount ${dir}: ${String(e)}`);
    }
  }
  rmSync(work, { recursive: true, force: true });
});

const base = Date.parse('2026-03-01T10:00:00+08:00');
const request = (over: Partial<EvidenceRequest> = {}): EvidenceRequest => ({
  incidentId: 'inc-disk-1',
  revision: 1,
  camera: { id: 'cam-oxford-1', name: '牛津街 1号 摄像机' },
  source: { kind: 'file', path: SRC, startWallMs: base },
  zone: { id: 'z-shopfront', kind: 'shopfront', polygon: [[0.05, 0.55], [0.6, 0.55], [0.6, 0.98], [0.05, 0.98]] },
  rule: { type: 'door_front', dwellSec: 2 },
  box: [0.3, 0.6, 0.45, 0.9],
  moments: { firstSeenMs: base + 500, confirmedMs: base + 2000, latestMs: base + 3500 },
  detectors: [{ id: 'yolox-nano', version: '1.0.0' }],
  ...over,
});
const packagers: EvidencePackager[] = [];
const packager = (root: string, over: Partial<EvidencePackagerOptions> = {}) => {
  const p = new EvidencePackager({ root, keys, log, timezone: 'Asia/Shanghai', clipBeforeSec: 0.5, clipAfterSec: 0.3, ...over });
  packagers.push(p);
  return p;
};
afterAll(async () => {
  await Promise.all(packagers.map((p) => p.stop()));
});

describe.skipIf(cannotMount !== undefined)('evidence on a 2 MB disk', () => {
  let disk: string;
  beforeAll(() => {
    disk = mountTmpfs('full', '2m');
  });

  it('a package that overflows the disk fails with EVIDENCE_DISK_FULL, leaves no staging folder and gives the space back', async () => {
    const root = join(disk, 'evidence');
    // no floor: the writes themselves hit ENOSPC (ffmpeg's "No space left on device" while its siblings still write)
    const p = packager(root, { minFreeBytes: 0 });
    await p.start();
    const before = await freeBytes(root);
    await expect(p.package(request())).rejects.toMatchObject({ code: 'EVIDENCE_DISK_FULL', retriable: true, message: expect.stringContaining(root) });
    expect(readdirSync(join(root, '.staging')), 'leftover staging folders').toEqual([]);
    expect(existsSync(join(root, 'inc-disk-1')), 'a package folder').toBe(false);
    expect(await freeBytes(root), 'space taken by the failed package').toBe(before);

    // …so the disk still takes what fits: the instant snapshot package of the same incident
    const { stdout: frame } = await exec('ffmpeg', ['-v', 'error', '-ss', '2', '-i', SRC, '-frames:v', '1', '-s', '320x180', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer', maxBuffer: 1 << 22 });
    const snap = await p.snapshot(request(), { width: 320, height: 180, data: frame });
    expect(snap.files.map((f) => f.name)).toEqual(['meta.json', 'snapshot-confirmed.jpg', 'manifest.json']);
    expect((await p.load('inc-disk-1', 1))?.manifestSha256).toBe(snap.manifestSha256);
    const chain = await readChain(root);
    expect(chain.badLines).toEqual([]);
    expect(chain.entries.map((e) => e.entry.dir)).toEqual(['inc-disk-1/r1']);
  });

  it('with the default floor, a package is refused before anything is cut, and the free space is a metric', async () => {
    const root = join(disk, 'evidence-floor');
    const metrics = createMetrics(new Registry());
    const p = packager(root, { metrics });
    await p.start();
    const free = (await metrics.registry.getSingleMetric('streetwatch_evidence_free_bytes')!.get()).values[0]!.value;
    expect(free).toBeGreaterThan(0);
    expect(free).toBeLessThanOrEqual(2 * 1024 * 1024);
    await expect(p.package(request({ incidentId: 'inc-disk-2' }))).rejects.toMatchObject({
      code: 'EVIDENCE_DISK_FULL',
      retriable: true,
      message: expect.stringMatching(/MiB free, below the 64\.0 MiB kept free; incident inc-disk-2 revision 1 was not packaged/),
    });
    expect(readdirSync(join(root, '.staging'))).toEqual([]);

    // the snapshot the ticket carries is tiny: it is refused only when its frame would not fit
    const frame = { width: 640, height: 360, data: Buffer.alloc(640 * 360 * 3, 0x80) };
    await p.snapshot(request({ incidentId: 'inc-disk-2' }), frame);
    const filler = join(disk, 'filler');
    writeFileSync(filler, Buffer.alloc(Math.max(0, (await freeBytes(root)) - frame.data.length)));
    try {
      await expect(p.snapshot(request({ incidentId: 'inc-disk-3' }), frame)).rejects.toMatchObject({ code: 'EVIDENCE_DISK_FULL', message: expect.stringMatching(/incident inc-disk-3 revision 1 was not packaged/) });
      expect(readdirSync(join(root, '.staging'))).toEqual([]);
    } finally {
      rmSync(filler);
    }
  });
});

describe.skipIf(cannotMount !== undefined)('a read-only evidence root', () => {
  let disk: string;
  let root: string;
  beforeAll(async () => {
    disk = mountTmpfs('ro', '8m');
    root = join(disk, 'evidence');
    // the root as a crash left it: a half-built package in .staging
    mkdirSync(join(root, '.staging', 'inc-x-r1-deadbeef'), { recursive: true });
    writeFileSync(join(root, '.staging', 'inc-x-r1-deadbeef', 'still-first.png'), 'half');
    remount(disk, 'ro');
  });

  it('start() fails with EVIDENCE_ROOT_NOT_WRITABLE naming the folder; packaging keeps refusing until it is writable again', async () => {
    const p = packager(root);
    await expect(p.start()).rejects.toMatchObject({ code: 'EVIDENCE_ROOT_NOT_WRITABLE', retriable: false, message: expect.stringContaining(root) });
    await expect(p.package(request())).rejects.toMatchObject({ code: 'EVIDENCE_ROOT_NOT_WRITABLE', message: expect.stringContaining(root) });

    remount(disk, 'rw');
    await p.start();
    expect(readdirSync(join(root, '.staging')), 'the crash leftover removed at start').toEqual([]);
  });

  it('a root that does not exist yet on a read-only disk is the same clear error', async () => {
    remount(disk, 'ro');
    try {
      const missing = join(disk, 'not-made-yet');
      await expect(packager(missing).start()).rejects.toMatchObject({ code: 'EVIDENCE_ROOT_NOT_WRITABLE', message: expect.stringContaining(missing) });
    } finally {
      remount(disk, 'rw');
    }
  });

  it('a root that turns read-only after start fails each package with EVIDENCE_ROOT_NOT_WRITABLE', async () => {
    const p = packager(join(disk, 'evidence-later'), { minFreeBytes: 0 }); // the 8 MB disk is below the default floor
    await p.start();
    remount(disk, 'ro');
    try {
      await expect(p.package(request({ incidentId: 'inc-ro-later' }))).rejects.toMatchObject({ code: 'EVIDENCE_ROOT_NOT_WRITABLE', message: expect.stringContaining(join(disk, 'evidence-later')) });
    } finally {
      remount(disk, 'rw');
    }
  });
});

// The whole dispatch stage on a 2 MB evidence disk: the incident and its ticket are still made (the snapshot
// fits), the full package is refused with its code and stays owed — not lost, nothing left in staging — and
// is made by the next retry once the disk has room.
describe.skipIf(cannotMount !== undefined)('the dispatch stage on a 2 MB evidence disk', () => {
  it('tickets the incident, keeps the full package owed, and makes it once there is room', async () => {
    const disk = mountTmpfs('stage-disk', '2m');
    const dataDir = join(work, 'stage-data');
    const config = configSchema.parse({
      version: 1,
      storage: { dataDir },
      evidence: { root: disk, clipBeforeSec: 0.5, clipAfterSec: 0.3 },
      cameras: [{ id: 'cam-oxford-1', source: { kind: 'file', path: SRC, realtime: false }, zones: [{ id: 'z1', kind: 'no_stacking', polygon: [[0.05, 0.55], [0.6, 0.55], [0.6, 0.98], [0.05, 0.98]], rules: { stacking: { dwell: 2 } } }] }],
      dispatch: { routing: { squads: [{ id: 'sq-1', name: '一中队' }], defaultSquad: 'sq-1' } },
    });
    const metrics = createMetrics(new Registry());
    const stage = new DispatchStage({ config, baseDir: work, log, metrics, owedRetryMs: 300, ...createTransport(config, work, log, metrics) });
    await stage.start();
    try {
      const frame = oxfordFrame(320, 180, 50);
      stage.onHit(
        hitAt(base + 2000, {
          cameraId: 'cam-oxford-1', box: [0.3, 0.6, 0.45, 0.9], firstSeenMs: base + 500, dwellSec: 2, seq: 50, ptsSec: 2,
          snapshot: { width: frame.width, height: frame.height, data: frame.data },
        }),
      );
      await stage.idle();
      const [inc] = stage.store.list();
      expect(stage.store.ticket(inc!.id)).toMatchObject({ squad: 'sq-1' });
      expect(existsSync(join(disk, inc!.id, 'r1', 'manifest.json'))).toBe(true);
      expect(existsSync(join(disk, inc!.id, 'r2'))).toBe(false);
      expect(stage.store.owedEvidence().map((o) => [o.incidentId, o.kind])).toEqual([[inc!.id, 'full']]);
      expect(stage.store.get(inc!.id)!.evidenceLost).toBeUndefined();
      expect(readdirSync(join(disk, '.staging'))).toEqual([]);
      expect((await metrics.evidenceFreeBytes.get()).values[0]!.value).toBeLessThan(2 * 1024 * 1024);

      execFileSync('mount', ['-o', 'remount,size=100m', disk], { stdio: 'pipe' });
      await waitFor(() => existsSync(join(disk, inc!.id, 'r2', 'manifest.json')), 20_000, 'the full package once there is room');
      await stage.idle();
      expect(readdirSync(join(disk, inc!.id, 'r2')), readFileSync(join(disk, inc!.id, 'r2', 'meta.json'), 'utf8')).toEqual(expect.arrayContaining(['still-first.png', 'still-confirmed.png', 'clip.mp4']));
      expect(stage.store.owedEvidence()).toEqual([]);
      expect(stage.counts.evidenceLost).toBe(0);
    } finally {
      await stage.stop();
    }
  });
});

describe.skipIf(cannotMount !== undefined)('streetwatch run with a read-only evidence root', () => {
  it('exits 1 with a coded error naming the folder, not an uncaught EROFS', () => {
    const disk = mountTmpfs('run-ro', '1m');
    remount(disk, 'ro');
    const cfg = join(work, 'run-ro.yaml');
    writeFileSync(cfg, `version: 1\nstorage: { dataDir: ./run-ro-data }\nevidence: { root: ${disk} }\nhttp: { port: 0 }\ncameras:\n  - id: cam-1\n    source: { kind: file, path: ${SRC}, loop: true }\n`);
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin/streetwatch.js'), 'run', '--config', cfg], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`evidence root ${disk} is not writable`);
    expect(r.stderr).toContain('[EVIDENCE_ROOT_NOT_WRITABLE]');
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace: an operator's message
  });
});
