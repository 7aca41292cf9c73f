import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, statfs, unlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { isStreetwatchError, StreetwatchError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';

/**
 * The evidence root's disk: how much room it has, whether it takes writes at all, what a failed write means,
 * and building a package so that a failure leaves nothing behind and says what really went wrong.
 */

/** Bytes an unprivileged writer may still use on the filesystem holding `dir` (ext4 keeps a reserve for root). */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

export type DiskProblem = 'full' | 'read-only';

// ffmpeg and libvips report a failed write as text on stderr / in the message (strerror), not as an errno.
const FULL_TEXT = /No space left on device|Disk quota exceeded/i;
const READ_ONLY_TEXT = /Read-only file system/i;

/** What a tool's error text says about the disk it wrote to, if anything. */
export function diskProblemInText(text: string): DiskProblem | undefined {
  if (FULL_TEXT.test(text)) return 'full';
  if (READ_ONLY_TEXT.test(text)) return 'read-only';
  return undefined;
}

const DISK_CODES = new Set<string>(['EVIDENCE_DISK_FULL', 'EVIDENCE_ROOT_NOT_WRITABLE']);

const under = (root: string, p: unknown): boolean => {
  if (typeof p !== 'string') return false;
  const r = relative(root, p);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
};

/** The disk problem behind an error (it or one of its causes), if any. */
function problemOf(e: unknown, root: string): DiskProblem | undefined {
  for (let c = e, depth = 0; c !== undefined && c !== null && depth < 8; c = (c as { cause?: unknown }).cause, depth++) {
    if (isStreetwatchError(c, 'EVIDENCE_DISK_FULL')) return 'full';
    if (isStreetwatchError(c, 'EVIDENCE_ROOT_NOT_WRITABLE')) return 'read-only';
    const err = c as NodeJS.ErrnoException & { dest?: string };
    if (err.code === 'ENOSPC' || err.code === 'EDQUOT') return 'full';
    if (err.code === 'EROFS') return 'read-only';
    // Permission errors count only inside the root: a ring segment we may not read is not the root's fault.
    if ((err.code === 'EACCES' || err.code === 'EPERM') && (under(root, err.path) || under(root, err.dest))) return 'read-only';
    const text = c instanceof Error ? c.message : typeof c === 'string' ? c : '';
    const p = diskProblemInText(text);
    if (p) return p;
  }
  return undefined;
}

const ROOT_ADVICE = 'remount it read-write, fix its owner or permissions, or set evidence.root to a writable folder';

export function rootNotWritable(root: string, e: unknown, doing: string): StreetwatchError {
  const why = e instanceof Error ? e.message : String(e);
  return new StreetwatchError('EVIDENCE_ROOT_NOT_WRITABLE', `evidence root ${root} is not writable (${why}) while ${doing}; no evidence can be packaged until it is: ${ROOT_ADVICE}`, {
    cause: e,
    details: { root },
  });
}

export function diskFull(root: string, message: string, cause?: unknown, details: Record<string, unknown> = {}): StreetwatchError {
  return new StreetwatchError('EVIDENCE_DISK_FULL', `${message}; free space on the disk of ${root} (lower evidence.retentionDays or evidence.quotaGb, or move evidence.root)`, {
    cause,
    retriable: true,
    details: { root, ...details },
  });
}

/**
 * The coded error for a failed write under `root` when the disk is behind it (ENOSPC, EDQUOT, EROFS, or
 * EACCES/EPERM inside the root, as an errno or as ffmpeg's / libvips' text); undefined when it is not.
 */
export function diskError(e: unknown, root: string, doing: string): StreetwatchError | undefined {
  if (isStreetwatchError(e) && DISK_CODES.has(e.code) && e.details.root === root) return e; // already says it all
  const p = problemOf(e, root);
  if (!p) return undefined;
  if (p === 'read-only') return rootNotWritable(root, e, doing);
  return diskFull(root, `evidence root ${root} ran out of space while ${doing} (${e instanceof Error ? e.message : String(e)})`, e);
}

/**
 * `mkdir -p` that fails with the real reason. Node's recursive mkdir reports ENOENT when the filesystem is
 * read-only (or a parent refuses it), which reads as a typo in the path: then each missing level is made on
 * its own, so the error is the filesystem's (EROFS, EACCES).
 */
export async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    const missing: string[] = [];
    for (let d = resolve(dir); !existsSync(d) && dirname(d) !== d; d = dirname(d)) missing.unshift(d);
    for (const d of missing) {
      await mkdir(d).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    }
  }
}

/**
 * A mkdir of a folder that exists writes nothing, so it passes on a read-only root: create and remove a file
 * to know the root takes writes.
 */
export async function probeWritable(dir: string): Promise<void> {
  const probe = join(dir, `.probe-${randomBytes(4).toString('hex')}`);
  await writeFile(probe, '');
  await unlink(probe);
}

/**
 * Waits for every job, then fails with the first real cause. A rejected job must not end the wait while its
 * siblings (ffmpeg, sharp) still write into the folder that is about to be removed: that removal then trips
 * over their files (ENOTEMPTY, hiding the cause) or they recreate the folder after it (leftovers filling the
 * disk). The real cause is the first disk error if there is one — on a full disk a sibling's "libpng read
 * error" on a half-written still is only a consequence — else the first failure.
 */
export async function settleAll<T>(jobs: readonly Promise<T>[], root: string): Promise<T[]> {
  const failures: unknown[] = []; // in the order they happened, not the order of the jobs
  const settled = await Promise.all(jobs.map((j) => j.then((v) => ({ ok: true as const, v }), (e: unknown) => (failures.push(e), { ok: false as const }))));
  if (failures.length) throw failures.find((e) => problemOf(e, root) !== undefined) ?? failures[0];
  return settled.map((s) => (s as { v: T }).v);
}

/**
 * Removes a staging folder after its jobs have finished; never throws, so a failed cleanup (a root that went
 * read-only) cannot replace the error that made the package fail. What stays is removed at the next start.
 */
export async function removeStaging(dir: string, log: Logger): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
  } catch (e) {
    log.warn({ err: e, dir }, 'evidence: could not remove a staging folder; it is removed at the next start');
  }
}
