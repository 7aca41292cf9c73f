import { execFileSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StreetwatchError } from '../../../../core/errors.js';
import { diskError, diskProblemInText } from '../../../../dispatcher/evidence/disk.js';
import { cutCopy, extractStill } from '../../../../dispatcher/evidence/media.js';
import { cleanup, tempDir } from '../../../helpers/fixtures/evidence.js';

afterEach(cleanup);

const errno = (code: string, message: string, path?: string) => Object.assign(new Error(message), { code, ...(path ? { path } : {}) });

describe('diskError', () => {
  const root = '/srv/evidence';
  it.each([
    ['ENOSPC from a write', errno('ENOSPC', 'ENOSPC: no space left on device, write'), 'EVIDENCE_DISK_FULL', true],
    ['EDQUOT (a quota)', errno('EDQUOT', 'EDQUOT: disk quota exceeded, write'), 'EVIDENCE_DISK_FULL', true],
    ["libvips' text", new Error('/srv/evidence/.staging/x/annotated-first.jpg: write error\nsystem error: No space left on device\nVipsJpeg: unable to write to target'), 'EVIDENCE_DISK_FULL', true],
    ['a cause two levels down', new StreetwatchError('INTERNAL', 'sealing failed', { cause: new Error('wrapped', { cause: errno('ENOSPC', 'ENOSPC: no space left on device, write') }) }), 'EVIDENCE_DISK_FULL', true],
    ['EROFS', errno('EROFS', "EROFS: read-only file system, mkdir '/srv/evidence/.staging/x'", '/srv/evidence/.staging/x'), 'EVIDENCE_ROOT_NOT_WRITABLE', false],
    ['EACCES inside the root', errno('EACCES', "EACCES: permission denied, open '/srv/evidence/chain.jsonl'", '/srv/evidence/chain.jsonl'), 'EVIDENCE_ROOT_NOT_WRITABLE', false],
    ['EPERM on the root itself', errno('EPERM', "EPERM: operation not permitted, mkdir '/srv/evidence'", '/srv/evidence'), 'EVIDENCE_ROOT_NOT_WRITABLE', false],
  ])('%s → %s naming the root', (_what, e, code, retriable) => {
    const coded = diskError(e, root, 'packaging incident inc-1');
    expect(coded).toMatchObject({ code, retriable, message: expect.stringContaining(root), details: { root } });
    expect(coded?.cause).toBe(e);
  });

  it.each([
    ['EACCES on a ring segment (outside the root)', errno('EACCES', "EACCES: permission denied, open '/data/ring/cam-1/x.ts'", '/data/ring/cam-1/x.ts')],
    ['EACCES on a sibling folder whose name starts like the root', errno('EACCES', 'EACCES', '/srv/evidence-old/x')],
    ['a broken video', new StreetwatchError('EVIDENCE_FAILED', 'ffmpeg failed: moov atom not found')],
    ['a request error', new StreetwatchError('EVIDENCE_EXISTS', 'evidence /srv/evidence/inc-1/r1 already exists')],
  ])('%s is not a disk problem', (_what, e) => {
    expect(diskError(e, root, 'packaging')).toBeUndefined();
  });

  it('reads what ffmpeg prints for a full or read-only disk', () => {
    expect(diskProblemInText('av_interleaved_write_frame(): No space left on device')).toBe('full');
    expect(diskProblemInText('Could not write header for output file #0 (incorrect codec parameters ?): No space left on device')).toBe('full');
    expect(diskProblemInText("[image2 @ 0x5] Could not open file : /e/x.png\nav_interleaved_write_frame(): Read-only file system")).toBe('read-only');
    expect(diskProblemInText('Invalid data found when processing input')).toBeUndefined();
  });
});

describe('ffmpeg writing to a full disk', () => {
  // /dev/full fails every write with ENOSPC: a real full disk for one file, without a mount
  const source = () => {
    const dir = tempDir();
    const video = join(dir, 'src.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-t', '2', '-c:v', 'libx264', '-g', '25', video]);
    return { dir, video };
  };

  it('is EVIDENCE_DISK_FULL for a still, not a generic ffmpeg failure', async () => {
    const { dir, video } = source();
    const out = join(dir, 'still.png');
    symlinkSync('/dev/full', out);
    await expect(extractStill(video, 0.5, out)).rejects.toMatchObject({ code: 'EVIDENCE_DISK_FULL', retriable: true, message: expect.stringMatching(/No space left on device/) });
  });

  it('is EVIDENCE_DISK_FULL for a clip', async () => {
    const { dir, video } = source();
    const out = join(dir, 'clip.mp4');
    symlinkSync('/dev/full', out);
    await expect(cutCopy(video, 0, 1.5, out)).rejects.toMatchObject({ code: 'EVIDENCE_DISK_FULL', retriable: true });
  });
});
