import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { basename, join } from 'node:path';
import { Registry } from 'prom-client';
import sharp from 'sharp';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { StreetwatchError } from '../../../../core/errors.js';
import { createLogger } from '../../../../core/log.js';
import { createMetrics } from '../../../../core/metrics.js';
import { EvidencePackager, type EvidenceRequest } from '../../../../dispatcher/evidence/packager.js';
import { cleanup, KEYS, tempDir } from '../../../helpers/fixtures/evidence.js';

/**
 * The packager's failure path with fake ffmpeg jobs, so the timing is ours: one still fails at once (the disk
 * is full) while the other two are still writing into the staging folder. Every job must have finished before
 * the folder is removed and the package rejected, and the rejection must carry the disk's code, not whatever
 * the cleanup tripped over (ENOTEMPTY) or a consequence of the full disk.
 */

const fake = vi.hoisted(() => ({
  png: Buffer.alloc(0),
  running: 0,
  calls: 0,
  jobs: [] as Promise<unknown>[],
  /** still file name → how that job ends; unlisted stills are written slowly and succeed */
  plan: {} as Record<string, { failAfterMs: number; error: () => unknown }>,
  slowMs: 120,
}));

vi.mock('../../../../dispatcher/evidence/media.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../../dispatcher/evidence/media.js')>();
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  return {
    ...real,
    probeDurationSec: async () => 30,
    // like ffmpeg: opens the output, writes it in pieces while it encodes, closes it, exits
    extractStill: (input: string, offsetSec: number, out: string) => {
      fake.calls++;
      fake.running++;
      const job = (async () => {
        try {
          const plan = fake.plan[basename(out)];
          if (plan) {
            await pause(plan.failAfterMs);
            throw plan.error();
          }
          const fh = await open(out, 'w');
          try {
            const step = Math.ceil(fake.png.length / 8);
            for (let i = 0; i < fake.png.length; i += step) {
              await fh.write(fake.png.subarray(i, i + step));
              await pause(fake.slowMs / 8);
            }
          } finally {
            await fh.close();
          }
          return existsSync(out);
        } finally {
          fake.running--;
        }
      })();
      fake.jobs.push(job.catch(() => undefined));
      return job;
    },
    cutCopy: async (_input: string, _from: number, _to: number, out: string) => {
      writeFileSync(out, 'clip');
    },
  };
});

beforeAll(async () => {
  fake.png = await sharp({ create: { width: 64, height: 36, channels: 3, background: '#406080' } }).png().toBuffer();
});

afterEach(async () => {
  await Promise.all(fake.jobs.splice(0));
  fake.plan = {};
  fake.calls = 0;
  cleanup();
});

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { log: createLogger({ level: 'debug', destination }), lines };
}

function setup(opts: { minFreeBytes?: number } = {}) {
  const root = tempDir();
  const video = join(tempDir(), 'source.mp4');
  writeFileSync(video, 'not read: media is faked');
  const { log, lines } = capturingLogger();
  const metrics = createMetrics(new Registry());
  const packager = new EvidencePackager({ root, keys: KEYS, log, timezone: 'Asia/Shanghai', metrics, ...opts });
  const req: EvidenceRequest = {
    incidentId: 'inc-settle',
    revision: 1,
    camera: { id: 'cam-1' },
    source: { kind: 'file', path: video, startWallMs: 0 },
    zone: { id: 'z', kind: 'no_vending' },
    rule: { type: 'stall', dwellSec: 10 },
    box: [0.1, 0.1, 0.3, 0.3],
    moments: { firstSeenMs: 1000, confirmedMs: 11_000, latestMs: 12_000 },
    detectors: [],
  };
  return { root, packager, req, lines, metrics };
}

const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
// what media.ts made of ffmpeg's stderr before it knew about full disks
const ffmpegFull = () => new StreetwatchError('EVIDENCE_FAILED', 'cutting a still from x.mp4 at 1.000 s: ffmpeg failed: av_interleaved_write_frame(): No space left on device', { retriable: true });

describe('EvidencePackager: a failing package', () => {
  it.each([
    ['a write failing with ENOSPC', enospc],
    ["ffmpeg's 'No space left on device'", ffmpegFull],
  ])('waits for every job before removing the staging folder, and reports the full disk with its code (%s)', async (_what, error) => {
    const { root, packager, req, lines } = setup({ minFreeBytes: 0 });
    await packager.start();
    fake.plan = { 'still-first.png': { failAfterMs: 1, error } };

    const outcome = await packager.package(req).then(
      () => ({ error: undefined as unknown, runningAtRejection: fake.running }),
      (e: unknown) => ({ error: e, runningAtRejection: fake.running }),
    );

    expect(fake.calls).toBe(3);
    expect(outcome.runningAtRejection, 'jobs still writing when the package was given up').toBe(0);
    expect(outcome.error).toMatchObject({ code: 'EVIDENCE_DISK_FULL', retriable: true, message: expect.stringContaining(root) });
    expect((outcome.error as Error).message).toMatch(/inc-settle/);
    await Promise.all(fake.jobs);
    expect(readdirSync(join(root, '.staging')), 'nothing left in the staging folder').toEqual([]);
    expect(existsSync(join(root, 'inc-settle')), 'no package').toBe(false);
    expect(lines.join('')).not.toMatch(/ENOTEMPTY/);
    await packager.stop();
  });

  it('reports the full disk, not an earlier failure that only followed from it', async () => {
    const { root, packager, req } = setup({ minFreeBytes: 0 });
    await packager.start();
    fake.plan = {
      // sharp reading a still ffmpeg could only half write
      'still-first.png': { failAfterMs: 1, error: () => new Error('vipspng: libpng read error') },
      'still-latest.png': { failAfterMs: 40, error: enospc },
    };
    await expect(packager.package(req)).rejects.toMatchObject({ code: 'EVIDENCE_DISK_FULL' });
    expect(fake.running).toBe(0);
    expect(readdirSync(join(root, '.staging'))).toEqual([]);
    await packager.stop();
  });

  it('keeps a failure that is not about the disk as it is, after every job has finished', async () => {
    const { root, packager, req } = setup({ minFreeBytes: 0 });
    await packager.start();
    fake.plan = { 'still-confirmed.png': { failAfterMs: 1, error: () => new StreetwatchError('EVIDENCE_FAILED', 'ffmpeg failed: moov atom not found', { retriable: true }) } };
    const outcome = await packager.package(req).then(
      () => ({ error: undefined as unknown, running: fake.running }),
      (e: unknown) => ({ error: e, running: fake.running }),
    );
    expect(outcome.running).toBe(0);
    expect(outcome.error).toMatchObject({ code: 'EVIDENCE_FAILED', message: expect.stringMatching(/moov atom/) });
    expect(readdirSync(join(root, '.staging'))).toEqual([]);
    await packager.stop();
  });

  it('still packages when every job succeeds', async () => {
    const { packager, req } = setup({ minFreeBytes: 0 });
    const pkg = await packager.package(req);
    expect(pkg.files.map((f) => f.name)).toContain('still-latest.png');
    expect(pkg.missing).toEqual([]);
    await packager.stop();
  });
});

describe('EvidencePackager: free space', () => {
  it('exports the free space of the evidence root from start()', async () => {
    const { packager, metrics } = setup();
    await packager.start();
    const g = (await metrics.registry.getSingleMetricAsString('streetwatch_evidence_free_bytes')).split('\n').find((l) => l.startsWith('streetwatch_evidence_free_bytes '));
    expect(Number(g?.split(' ')[1])).toBeGreaterThan(0);
    await packager.stop();
  });

  it('refuses a package before cutting anything when free space is below the floor', async () => {
    const { root, packager, req } = setup({ minFreeBytes: Number.MAX_SAFE_INTEGER });
    await packager.start();
    await expect(packager.package(req)).rejects.toMatchObject({ code: 'EVIDENCE_DISK_FULL', retriable: true, message: expect.stringContaining(root) });
    expect(fake.calls, 'no ffmpeg job started').toBe(0);
    expect(readdirSync(join(root, '.staging'))).toEqual([]);
    // the snapshot the ticket carries needs only room for its frame, not the full package's floor
    const snap = await packager.snapshot({ ...req, incidentId: 'inc-snap' }, { width: 2, height: 2, data: Buffer.alloc(12) });
    expect(snap.files.map((f) => f.name)).toContain('snapshot-confirmed.jpg');
    // …and so does the marker for a package that could not be made
    const lost = await packager.lost(req, 'EVIDENCE_DISK_FULL: the disk stayed full');
    expect(lost.files.map((f) => f.name)).toEqual(['meta.json', 'manifest.json']);
    await packager.stop();
  });
});
