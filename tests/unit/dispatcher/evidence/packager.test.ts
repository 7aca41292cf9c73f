import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CHAIN_FILE } from '../../../../dispatcher/evidence/chain.js';
import { verifyEvidence } from '../../../../dispatcher/evidence/verify.js';
import { createLogger } from '../../../../core/log.js';
import { EvidencePackager, type EvidenceRequest } from '../../../../dispatcher/evidence/packager.js';
import { extractStill, ringEndMs, segmentsCovering, type Segment } from '../../../../dispatcher/evidence/media.js';
import { execFileSync } from 'node:child_process';
import sharp from 'sharp';
import { addPackage, cleanup, KEYS, tempDir } from '../../../helpers/fixtures/evidence.js';

afterEach(cleanup);

const req = (over: Partial<EvidenceRequest> = {}): EvidenceRequest => ({
  incidentId: 'inc-1',
  revision: 1,
  camera: { id: 'cam-1' },
  source: { kind: 'ring', dir: '/nonexistent' },
  zone: { id: 'z', kind: 'no_vending' },
  rule: { type: 'stall', dwellSec: 60 },
  box: [0.1, 0.1, 0.2, 0.2],
  moments: { firstSeenMs: 1000, confirmedMs: 61_000, latestMs: 61_000 },
  detectors: [],
  ...over,
});

describe('EvidencePackager', () => {
  const make = () => new EvidencePackager({ root: tempDir(), keys: KEYS, log: createLogger({ level: 'silent' }), timezone: 'Asia/Shanghai' });

  it('rejects a request it cannot package, saying why', async () => {
    const p = make();
    await p.start();
    await expect(p.package(req({ incidentId: '../etc' }))).rejects.toMatchObject({ code: 'EVIDENCE_REQUEST_INVALID', message: expect.stringMatching(/names a folder/) });
    await expect(p.package(req({ revision: 0 }))).rejects.toMatchObject({ code: 'EVIDENCE_REQUEST_INVALID' });
    await expect(p.package(req({ box: [0.5, 0.1, 0.2, 0.2] }))).rejects.toMatchObject({ code: 'EVIDENCE_REQUEST_INVALID' });
    await expect(p.package(req({ moments: { firstSeenMs: 5, confirmedMs: 1, latestMs: 6 } }))).rejects.toMatchObject({ code: 'EVIDENCE_REQUEST_INVALID' });
    await expect(p.package(req({ source: { kind: 'file', path: '/nonexistent.mp4', startWallMs: 0 } }))).rejects.toMatchObject({ code: 'EVIDENCE_REQUEST_INVALID' });
    await p.stop();
  });

  it('on start, chains a finished package a crash left out of chain.jsonl, and clears half-built ones', async () => {
    const root = tempDir();
    await addPackage(root, 'inc-a');
    await addPackage(root, 'inc-b');
    const lines = readFileSync(join(root, CHAIN_FILE), 'utf8').trim().split('\n');
    writeFileSync(join(root, CHAIN_FILE), lines[0] + '\n'); // the crash: renamed into place, line not appended
    mkdirSync(join(root, '.staging', 'half-built'), { recursive: true });
    expect((await verifyEvidence(root, KEYS.publicKeyPem)).problems.map((p) => p.problem)).toEqual(['extra']);
    const p = new EvidencePackager({ root, keys: KEYS, log: createLogger({ level: 'silent' }), timezone: 'Asia/Shanghai' });
    await p.start();
    await p.stop();
    expect(readFileSync(join(root, CHAIN_FILE), 'utf8').trim().split('\n')).toEqual(lines);
    expect(await verifyEvidence(root, KEYS.publicKeyPem)).toMatchObject({ ok: true, checked: { packages: 2 } });
    expect(readdirSync(join(root, '.staging')), 'half-built package removed').toEqual([]);
  });

  it('stop is idempotent and refuses new work', async () => {
    const p = make();
    await p.start();
    await Promise.all([p.stop(), p.stop()]);
    await p.stop();
    await expect(p.package(req())).rejects.toMatchObject({ code: 'STOPPED' });
  });
});

describe('segmentsCovering', () => {
  const segs: Segment[] = [0, 2000, 4000, 10_000].map((startMs) => ({ startMs, name: `${startMs}`, file: `${startMs}.ts` }));
  it.each([
    [1000, 3000, 20_000, ['0', '2000']],
    [2000, 4000, 20_000, ['2000']],
    [5000, 9000, 20_000, ['4000']], // the segment before a gap runs until the next one starts
    [11_000, 13_000, 12_000, ['10000']],
    [13_000, 15_000, 12_000, []], // after the newest segment ends
    [-5000, -1000, 20_000, []],
  ])('[%i, %i] with the ring ending at %i → %j', (from, to, end, expected) => {
    expect(segmentsCovering(segs, from, to, end).map((s) => s.name)).toEqual(expected);
  });
});

describe('ringEndMs', () => {
  it('counts a newest segment ffmpeg has only just opened (no header yet) as empty, instead of failing', async () => {
    const dir = tempDir();
    const file = join(dir, 'seg-just-opened.ts');
    writeFileSync(file, Buffer.from([0x47, 0x40, 0x00])); // three bytes of a TS packet: not probeable yet
    const seg: Segment = { file, name: 'seg-just-opened.ts', startMs: 1_000_000 };
    expect(await ringEndMs([seg])).toBe(1_001_000); // its start + the 1 s name slack
    expect(await ringEndMs([])).toBe(-Infinity);
  });
});

describe('extractStill', () => {
  it('cuts a still from inside a ring segment whose only keyframe is its first frame', async () => {
    const dir = tempDir();
    const seg = join(dir, 'seg.ts');
    // what a camera with a 2 s GOP writes into a 2 s ring segment: MPEG-TS (start time 1.4 s), one keyframe
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-t', '2', '-c:v', 'libx264', '-g', '50', '-bf', '0', '-f', 'mpegts', seg]);
    for (const at of [0, 0.585, 1.9]) {
      const out = join(dir, `still-${at}.png`);
      expect(await extractStill(seg, at, out), `a frame at ${at} s`).toBe(true);
      expect((await sharp(out).metadata()).width).toBe(320);
    }
    expect(await extractStill(seg, 5, join(dir, 'after.png'))).toBe(false);
  });
});
