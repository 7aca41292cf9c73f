import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadAssetManifests, verifyAsset, type AssetManifest } from '../../core/asset-manifests.js';
import { assetCacheDir, findAsset } from '../../core/assets.js';
import { StreetwatchError, toStreetwatchError } from '../../core/errors.js';
import { PROJECT_ROOT } from '../../core/paths.js';
import { redact } from '../../core/redact.js';

/**
 * `streetwatch fetch-assets` and `npm run fetch-assets` (scripts/fetch-assets.ts runs this module's `run`).
 * Every asset the resolver can already find with the right hash is left alone; the rest are downloaded into
 * the cache. This machine class often has no internet, so every network step is bounded by a timeout and the
 * failure line says how to supply the file by hand instead.
 */

export const summary = 'check models and media against their manifests; download missing ones into the asset cache';

export const DEFAULT_TIMEOUT_MS = 30_000;
/** A silent network (packets dropped, not refused) is the common offline case: give up on it well before the total. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export type FetchableAsset = Pick<AssetManifest, 'id' | 'file' | 'sha256' | 'bytes' | 'url'> & { manifestPath?: string };

export interface FetchAssetsOptions {
  assets: readonly FetchableAsset[];
  /** Where downloads go; default: the resolver's cache ($STREETWATCH_ASSET_CACHE or .cache/assets). */
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Whole download, per asset. */
  timeoutMs?: number;
  /** Until the response headers arrive, per asset. */
  connectTimeoutMs?: number;
  /** Ids or file names; empty or absent means all. */
  only?: readonly string[];
  concurrency?: number;
  onDownloadStart?: (asset: FetchableAsset) => void;
}

export type FetchOutcome =
  | { status: 'found'; asset: FetchableAsset; path: string }
  | { status: 'downloaded'; asset: FetchableAsset; path: string }
  | { status: 'failed'; asset: FetchableAsset; error: StreetwatchError };

/** Makes every asset available or says why not; never throws for a single asset's failure. Results keep input order. */
export async function fetchAssets(opts: FetchAssetsOptions): Promise<FetchOutcome[]> {
  const env = opts.env ?? process.env;
  const cacheDir = resolve(opts.cacheDir ?? assetCacheDir(env));
  // The cache is the resolver's last folder; searching with this env makes a caller-chosen cache count too.
  const searchEnv: NodeJS.ProcessEnv = { ...env, STREETWATCH_ASSET_CACHE: cacheDir };
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const connectTimeoutMs = Math.min(opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, timeoutMs);
  const selected = selectAssets(opts.assets, opts.only);

  const one = async (asset: FetchableAsset): Promise<FetchOutcome> => {
    const found = findAsset(asset.file, searchEnv);
    if (found) {
      try {
        await verifyAsset(found, asset);
        return { status: 'found', asset, path: found };
      } catch (e) {
        // A bad copy outside the cache would still win the resolver's search, so downloading cannot fix it.
        if (resolve(dirname(found)) !== cacheDir) return { status: 'failed', asset, error: toStreetwatchError(e) };
      }
    }
    try {
      opts.onDownloadStart?.(asset);
      const path = await downloadAsset(asset, cacheDir, { timeoutMs, connectTimeoutMs });
      return { status: 'downloaded', asset, path };
    } catch (e) {
      return { status: 'failed', asset, error: toStreetwatchError(e, 'ASSET_DOWNLOAD_FAILED') };
    }
  };

  // Concurrent, so a fully offline run costs one timeout, not one per asset.
  const results: FetchOutcome[] = new Array(selected.length);
  let next = 0;
  const worker = async () => {
    while (next < selected.length) {
      const i = next++;
      results[i] = await one(selected[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 8, selected.length)) }, worker));
  return results;
}

/** Filters by id or file name; an unknown name is a usage error listing the known ids. */
export function selectAssets(assets: readonly FetchableAsset[], only?: readonly string[]): FetchableAsset[] {
  if (!only || only.length === 0) return [...assets];
  const unknown = only.filter((o) => !assets.some((a) => a.id === o || a.file === o));
  if (unknown.length > 0) {
    throw new StreetwatchError('USAGE', `--only: no asset named ${unknown.map((u) => `'${u}'`).join(', ')}; known ids: ${assets.map((a) => a.id).join(', ')}`);
  }
  return assets.filter((a) => only.includes(a.id) || only.includes(a.file));
}

export interface DownloadOptions {
  timeoutMs: number;
  connectTimeoutMs: number;
}

/**
 * Downloads `asset.url` into `cacheDir/asset.file`: streamed into a temp file in the same folder while hashing,
 * checked, then renamed, so a reader never sees a partial or wrong file and a failure leaves nothing behind.
 */
export async function downloadAsset(asset: FetchableAsset, cacheDir: string, opts: DownloadOptions): Promise<string> {
  const connect = new AbortController();
  const connectTimer = setTimeout(() => connect.abort(new DOMException('connect timeout', 'TimeoutError')), opts.connectTimeoutMs);
  const total = AbortSignal.timeout(opts.timeoutMs);
  const signal = AbortSignal.any([total, connect.signal]);
  const finalPath = join(cacheDir, asset.file);
  const tmpPath = join(cacheDir, `.${asset.file}.${process.pid}.${randomUUID()}.part`);
  let response: Response;
  try {
    response = await fetch(asset.url, { signal, redirect: 'follow' });
  } catch (e) {
    throw downloadFailed(asset, describeNetworkError(e, asset.url, connect.signal.aborted, total.aborted, opts), e);
  } finally {
    clearTimeout(connectTimer);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel().catch(() => undefined);
    const retriable = response.status >= 500 || response.status === 429;
    throw downloadFailed(asset, `HTTP ${response.status} ${response.statusText}`.trim(), undefined, retriable);
  }

  await mkdir(cacheDir, { recursive: true });
  const hash = createHash('sha256');
  let received = 0;
  let head = Buffer.alloc(0);
  const fh = await open(tmpPath, 'wx');
  let keep = false;
  try {
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        received += chunk.byteLength;
        if (head.length < 64) head = Buffer.concat([head, Buffer.from(chunk.subarray(0, 64 - head.length))]);
        // Stop early on an oversized body (an HTML error page, the wrong file): the hash could never match.
        if (received > asset.bytes) break;
        hash.update(chunk);
        await fh.write(chunk);
      }
    } catch (e) {
      throw downloadFailed(asset, describeNetworkError(e, asset.url, false, total.aborted, opts), e);
    }
    if (received > asset.bytes) {
      await response.body.cancel().catch(() => undefined);
      throw mismatch(asset, `the server sent more than the ${asset.bytes} bytes the manifest pins`, head);
    }
    const actual = hash.digest('hex');
    if (actual !== asset.sha256 || received !== asset.bytes) {
      throw mismatch(asset, `sha256 expected ${asset.sha256}, actual ${actual} (${received} of ${asset.bytes} bytes)`, head);
    }
    await fh.sync();
    keep = true;
  } finally {
    await fh.close();
    if (!keep) await rm(tmpPath, { force: true });
  }
  try {
    await rename(tmpPath, finalPath);
  } catch (e) {
    await rm(tmpPath, { force: true });
    throw e;
  }
  return finalPath;
}

function describeNetworkError(e: unknown, url: string, connectTimedOut: boolean, totalTimedOut: boolean, opts: DownloadOptions): { reason: string; retriable: boolean } {
  const host = safeHost(url);
  if (connectTimedOut) {
    return { reason: `timeout: no answer from ${host} within ${opts.connectTimeoutMs / 1000} s (offline, or a firewall drops the connection)`, retriable: true };
  }
  if (totalTimedOut) {
    return { reason: `timeout: download not finished within ${opts.timeoutMs / 1000} s (slow link? raise it with --timeout)`, retriable: true };
  }
  const cause = (e as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const code = cause?.code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
    return { reason: `DNS failure: cannot resolve ${host} (${code}; offline, or no DNS for the internet here)`, retriable: true };
  }
  if (code === 'ECONNREFUSED') return { reason: `connection refused by ${host}`, retriable: true };
  if (code) return { reason: `network error ${code}: ${cause?.message ?? ''}`.trim(), retriable: true };
  return { reason: e instanceof Error ? e.message : String(e), retriable: true };
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function byHand(asset: FetchableAsset): string {
  const pin = asset.manifestPath ? ` (its sha256 is in ${relative(PROJECT_ROOT, asset.manifestPath)})` : ` (sha256 ${asset.sha256})`;
  return `Copy ${asset.file}${pin} into a folder and list that folder in STREETWATCH_ASSETS (e.g. STREETWATCH_ASSETS=/data/streetwatch-assets), then run fetch-assets again to check it.`;
}

function downloadFailed(asset: FetchableAsset, why: string | { reason: string; retriable: boolean }, cause?: unknown, retriable = true): StreetwatchError {
  const { reason, retriable: r } = typeof why === 'string' ? { reason: why, retriable } : why;
  return new StreetwatchError('ASSET_DOWNLOAD_FAILED', `could not download '${asset.file}' from ${asset.url}: ${reason}. ${byHand(asset)}`, {
    cause,
    retriable: r,
    details: { asset: asset.file, url: asset.url },
  });
}

function mismatch(asset: FetchableAsset, what: string, head: Buffer): StreetwatchError {
  const text = head.toString('latin1');
  const hint = text.startsWith('version https://git-lfs')
    ? ' The server sent a Git LFS pointer, not the file: the upstream keeps it in LFS.'
    : /^\s*</.test(text)
      ? ' The server sent HTML (an error or login page?), not the file.'
      : ' The upstream file may have changed, or the url in the manifest is wrong.';
  return new StreetwatchError(
    'ASSET_HASH_MISMATCH',
    `downloaded '${asset.file}' from ${asset.url} but it is not the pinned file: ${what}; nothing was saved.${hint} ${byHand(asset)}`,
    { details: { asset: asset.file, url: asset.url, expected: asset.sha256 } },
  );
}

export function formatOutcome(o: FetchOutcome, cwd = process.cwd()): string {
  const shown = (p: string) => {
    const rel = relative(cwd, p);
    return rel.length > 0 && rel.length < p.length ? rel : p;
  };
  switch (o.status) {
    case 'found':
      return `${o.asset.id}: ok (found at ${shown(o.path)})`;
    case 'downloaded':
      return `${o.asset.id}: ok (downloaded from ${o.asset.url} to ${shown(o.path)})`;
    case 'failed':
      return `${o.asset.id}: FAILED: ${o.error.message} [${o.error.code}]`;
  }
}

export interface RunDeps {
  /** Default: every manifest in models/ and media/. */
  assets?: readonly FetchableAsset[];
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

const USAGE = `usage: streetwatch fetch-assets [--only <id|file>]... [--timeout <seconds>] [--connect-timeout <seconds>]

Checks every model and media file pinned in models/*.json and media/*.json. Files the resolver already finds
(STREETWATCH_ASSETS, ../shared/models, ../shared/media, the cache) are hash-checked; missing ones are
downloaded into the cache (${relative(PROJECT_ROOT, assetCacheDir()) || assetCacheDir()}, or $STREETWATCH_ASSET_CACHE).
Exit 0 when every asset is available, 1 otherwise.

  --only <id|file>          only these assets (repeatable, or comma-separated)
  --timeout <seconds>       give up on one download after this long (default ${DEFAULT_TIMEOUT_MS / 1000})
  --connect-timeout <s>     give up when a server does not answer within this (default ${DEFAULT_CONNECT_TIMEOUT_MS / 1000})`;

export async function run(argv: string[], deps: RunDeps = {}): Promise<number> {
  const out = deps.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const err = deps.err ?? ((l: string) => process.stderr.write(l + '\n'));
  let values: { only?: string[]; timeout?: string; 'connect-timeout'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        only: { type: 'string', multiple: true },
        timeout: { type: 'string' },
        'connect-timeout': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    }));
  } catch (e) {
    throw new StreetwatchError('USAGE', `${(e as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const timeoutMs = seconds('--timeout', values.timeout, DEFAULT_TIMEOUT_MS);
  const connectTimeoutMs = seconds('--connect-timeout', values['connect-timeout'], DEFAULT_CONNECT_TIMEOUT_MS);
  const only = (values.only ?? []).flatMap((o) => o.split(',')).map((o) => o.trim()).filter(Boolean);

  const assets = deps.assets ?? loadAssetManifests();
  const results = await fetchAssets({
    assets,
    only,
    cacheDir: deps.cacheDir,
    env: deps.env,
    timeoutMs,
    connectTimeoutMs,
    onDownloadStart: (a) => out(`${a.id}: downloading ${a.url} …`),
  });
  for (const r of results) (r.status === 'failed' ? err : out)(redact(formatOutcome(r)));
  const failed = results.filter((r) => r.status === 'failed').length;
  if (failed > 0) {
    err(`${failed} of ${results.length} asset(s) not available.`);
    return 1;
  }
  out(`all ${results.length} asset(s) available.`);
  return 0;
}

function seconds(flag: string, value: string | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new StreetwatchError('USAGE', `${flag} wants a positive number of seconds, got '${value}'`);
  return Math.round(n * 1000);
}
