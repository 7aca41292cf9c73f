import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { z } from 'zod';
import { StreetwatchError } from './errors.js';
import { PROJECT_ROOT } from './paths.js';

/**
 * Asset manifests: models/<id>.json and media/<id>.json pin each never-committed file by name, size, sha256
 * and upstream URL. The resolver (core/assets.ts) finds the file; these manifests say whether it is the right one.
 */

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (sha256sum output)');

/** Fields every asset has. Loose: a later issue adds label maps and thresholds to the model files. */
export const assetManifestSchema = z.looseObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'use lowercase letters, digits, . _ -'),
  // A bare name: the resolver joins it onto every search folder, so a path here would escape them.
  file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a bare file name, no folders'),
  sha256: sha256Hex,
  bytes: z.number().int().positive(),
  url: z.url({ protocol: /^https?$/ }),
  licence: z.string().min(1),
  notes: z.string().optional(),
});

/** What detectors rely on today; everything else about a model (classes, thresholds) stays unvalidated here. */
export const modelManifestSchema = assetManifestSchema.extend({
  family: z.enum(['yolox', 'picodet', 'yolov8']),
  input: z.looseObject({
    width: z.number().int().positive(),
    height: z.number().int().positive(),
  }),
  default: z.boolean().optional(),
});

export type AssetKind = 'model' | 'media';

export type AssetManifest = z.infer<typeof assetManifestSchema> & {
  kind: AssetKind;
  /** Where the manifest was read from, for error messages. */
  manifestPath: string;
};

export interface ManifestDir {
  dir: string;
  kind: AssetKind;
}

export const DEFAULT_MANIFEST_DIRS: readonly ManifestDir[] = [
  { dir: join(PROJECT_ROOT, 'models'), kind: 'model' },
  { dir: join(PROJECT_ROOT, 'media'), kind: 'media' },
];

/** Reads and validates every *.json in the manifest folders; throws ASSET_MANIFEST_INVALID at the first bad one. */
export function loadAssetManifests(dirs: readonly ManifestDir[] = DEFAULT_MANIFEST_DIRS): AssetManifest[] {
  const out: AssetManifest[] = [];
  const seenIds = new Map<string, string>();
  const seenFiles = new Map<string, string>();
  for (const { dir, kind } of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    for (const name of names) {
      const m = parseAssetManifest(join(dir, name), kind);
      const shown = displayPath(m.manifestPath);
      const dupId = seenIds.get(m.id);
      if (dupId) throw invalid(shown, 'id', `'${m.id}' is already used by ${dupId}`);
      const dupFile = seenFiles.get(m.file);
      if (dupFile) throw invalid(shown, 'file', `'${m.file}' is already pinned by ${dupFile}`);
      seenIds.set(m.id, shown);
      seenFiles.set(m.file, shown);
      out.push(m);
    }
  }
  return out;
}

/** Parses one manifest file. The id must equal the file's base name so `--only <id>` and the file agree. */
export function parseAssetManifest(path: string, kind: AssetKind): AssetManifest {
  const shown = displayPath(path);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new StreetwatchError('ASSET_MANIFEST_INVALID', `asset manifest ${shown} is not valid JSON: ${(e as Error).message}. Fix the file.`, {
      cause: e,
      details: { manifest: shown },
    });
  }
  const schema = kind === 'model' ? modelManifestSchema : assetManifestSchema;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue && issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more problem(s))` : '';
    throw invalid(shown, key, `${issue?.message ?? 'invalid'}${more}`);
  }
  const stem = basename(path, '.json');
  if (parsed.data.id !== stem) throw invalid(shown, 'id', `is '${parsed.data.id}' but the file is named ${stem}.json; make them equal`);
  return { ...parsed.data, kind, manifestPath: path };
}

function invalid(shownPath: string, key: string, problem: string): StreetwatchError {
  return new StreetwatchError('ASSET_MANIFEST_INVALID', `asset manifest ${shownPath}: key '${key}' ${problem}. Fix the file.`, {
    details: { manifest: shownPath, key },
  });
}

function displayPath(p: string): string {
  const rel = relative(PROJECT_ROOT, p);
  return rel.startsWith('..') ? p : rel;
}

/** sha256 of a file as lowercase hex, streamed so a large video does not land in memory. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Throws ASSET_NOT_FOUND if `path` is missing, ASSET_HASH_MISMATCH if it is not the file the manifest pins. */
export async function verifyAsset(path: string, manifest: Pick<AssetManifest, 'id' | 'file' | 'sha256' | 'bytes'> & { manifestPath?: string }): Promise<void> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (e) {
    throw new StreetwatchError('ASSET_NOT_FOUND', `asset '${manifest.file}' (${manifest.id}) is not at ${path}. Put the file there or run 'npm run fetch-assets'.`, {
      cause: e,
      details: { asset: manifest.file, path },
    });
  }
  const actual = await sha256File(path);
  if (actual === manifest.sha256) return;
  const sizeNote = size === manifest.bytes ? '' : `, ${size} bytes instead of ${manifest.bytes}`;
  const pinnedBy = manifest.manifestPath ? ` (pinned by ${displayPath(manifest.manifestPath)})` : '';
  throw new StreetwatchError(
    'ASSET_HASH_MISMATCH',
    `asset '${manifest.file}' at ${path} is not the expected file${pinnedBy}: sha256 expected ${manifest.sha256}, actual ${actual}${sizeNote}. ` +
      `Replace it with the right file (for example from ../shared, or delete it and run 'npm run fetch-assets'); ` +
      `if the new file is intended, update sha256 and bytes in the manifest.`,
    { details: { asset: manifest.file, path, expected: manifest.sha256, actual } },
  );
}
