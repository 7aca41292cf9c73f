import { existsSync } from 'node:fs';
import { readdir, rename, rm, rmdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StreetwatchError } from '../../core/errors.js';
import { makeDir } from './disk.js';
import { appendChain, CHAIN_FILE, chainCorrupt, chainHead, readChain, withChainLock } from './chain.js';
import type { EvidenceKeys } from './keys.js';
import { hashFile, MANIFEST_FILE, MANIFEST_VERSION, serialiseManifest, sha256Hex, signManifest, type ManifestFile } from './manifest.js';
import { isoInZone } from '../../core/time.js';

/**
 * Turns a finished staging folder into a package: hashes every file, signs a manifest chained to the root's
 * head, renames the folder to `<root>/<incidentId>/r<revision>` and appends the chain line. Separate from the
 * packager (which makes the files with ffmpeg and sharp) so the chain can be tested without video.
 */
export async function sealPackage(opts: {
  root: string;
  staging: string;
  incidentId: string;
  revision: number;
  keys: EvidenceKeys;
  timezone: string;
  now?: () => number;
}): Promise<{ dir: string; seq: number; manifestSha256: string; manifestBytes: number; files: ManifestFile[] }> {
  const root = resolve(opts.root);
  const rel = `${opts.incidentId}/r${opts.revision}`;
  const finalDir = join(root, opts.incidentId, `r${opts.revision}`);
  const files: ManifestFile[] = [];
  // Hashing (the clip is megabytes) happens before taking the lock; only seq/previous need it.
  for (const name of (await readdir(opts.staging)).sort()) {
    if (name.startsWith('.') || name === MANIFEST_FILE) continue;
    files.push({ name, ...(await hashFile(join(opts.staging, name))) });
  }
  return withChainLock(root, async () => {
    const chain = await readChain(root);
    if (chain.badLines.length) throw chainCorrupt(root, `line ${chain.badLines[0]!.line} is not a chain entry`);
    if (existsSync(finalDir)) throw new StreetwatchError('EVIDENCE_EXISTS', `evidence ${finalDir} already exists; a later update of incident ${opts.incidentId} needs revision ${opts.revision + 1}`);
    const head = chainHead(chain);
    const seq = (head?.seq ?? 0) + 1;
    const createdMs = (opts.now ?? Date.now)();
    const previous = head?.manifestSha256 ?? null;
    const manifest = signManifest({ version: MANIFEST_VERSION, seq, incidentId: opts.incidentId, revision: opts.revision, createdAt: isoInZone(createdMs, opts.timezone), files, previous }, opts.keys);
    const bytes = serialiseManifest(manifest);
    await writeFile(join(opts.staging, MANIFEST_FILE), bytes);
    await makeDir(join(root, opts.incidentId));
    await rename(opts.staging, finalDir);
    const manifestSha256 = sha256Hex(bytes);
    const chainFile = join(root, CHAIN_FILE);
    const chainBytes = await stat(chainFile).then((st) => st.size, () => undefined);
    try {
      await appendChain(root, { kind: 'manifest', seq, incidentId: opts.incidentId, revision: opts.revision, dir: rel, manifestSha256, previous, createdMs });
    } catch (e) {
      // The package was never reported, so it is undone rather than left for the next start: on a full disk
      // the append may have written half a line, which would refuse every later package as a corrupt chain,
      // and a sealed folder in place would make the caller's retry fail as EVIDENCE_EXISTS.
      await undoSeal(chainFile, chainBytes, finalDir, opts.staging).catch((undo: unknown) => {
        throw new StreetwatchError('EVIDENCE_FAILED', `appending ${rel} to ${chainFile} failed (${(e as Error).message}) and undoing it failed too (${(undo as Error).message}); run 'streetwatch evidence verify ${root}'`, { cause: e });
      });
      throw e;
    }
    return { dir: finalDir, seq, manifestSha256, manifestBytes: bytes.length, files: manifest.files };
  });
}

/** Puts the chain back to its length before the failed append and the package back into its staging folder. */
async function undoSeal(chainFile: string, chainBytes: number | undefined, finalDir: string, staging: string): Promise<void> {
  if (chainBytes === undefined) await rm(chainFile, { force: true });
  else await truncate(chainFile, chainBytes);
  await rename(finalDir, staging);
  await rmdir(join(finalDir, '..')).catch(() => undefined); // the incident's folder, when this was its first package
}
