import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fetchAssets, run, type FetchableAsset, type FetchOutcome } from '../../cli/commands/fetch-assets.js';
import { PROJECT_ROOT } from '../../core/paths.js';
import { freePort } from '../helpers/net.js';

const PAYLOAD = Buffer.from('streetwatch test asset\n'.repeat(4000));
const SHA = createHash('sha256').update(PAYLOAD).digest('hex');
const WRONG = Buffer.from(PAYLOAD).fill(0x41, 0, 100);

let server: Server;
let base: string;
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    switch (req.url) {
      case '/good.bin':
        return res.end(PAYLOAD);
      case '/wrong.bin':
        return res.end(WRONG);
      case '/big.bin':
        return res.end(Buffer.concat([PAYLOAD, PAYLOAD]));
      case '/lfs.bin':
        return res.end('version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 92000\n');
      case '/silent.bin':
        return; // accept and never answer: what a firewall that drops packets looks like after connect
      default:
        res.statusCode = 404;
        return res.end('not here');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

let tmp: string;
let assetsDir: string;
let cacheDir: string;
let env: NodeJS.ProcessEnv;

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'streetwatch-fetch-'));
  assetsDir = join(tmp, 'assets');
  cacheDir = join(tmp, 'cache');
  mkdirSync(assetsDir);
  env = { STREETWATCH_ASSETS: assetsDir };
  hits.length = 0;
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** File names no real search folder holds, so only this test's folders can satisfy them. */
function asset(path: string, file = `sw-test-${path.replace(/\W/g, '')}.bin`): FetchableAsset {
  return { id: file.replace(/\.bin$/, ''), file, sha256: SHA, bytes: PAYLOAD.length, url: `${base}/${path}` };
}

function failed(o: FetchOutcome | undefined) {
  expect(o?.status).toBe('failed');
  return (o as Extract<FetchOutcome, { status: 'failed' }>).error;
}

const cacheFiles = () => (existsSync(cacheDir) ? readdirSync(cacheDir) : []);


describe('fetchAssets', () => {
  it('downloads a missing file into the cache, checks it, and finds it there next time', async () => {
    const a = asset('good.bin');
    const [first] = await fetchAssets({ assets: [a], cacheDir, env });
    expect(first).toMatchObject({ status: 'downloaded', path: join(cacheDir, a.file) });
    expect(readFileSync(join(cacheDir, a.file)).equals(PAYLOAD)).toBe(true);
    expect(cacheFiles()).toEqual([a.file]); // no temp file left behind

    const [second] = await fetchAssets({ assets: [a], cacheDir, env });
    expect(second).toMatchObject({ status: 'found', path: join(cacheDir, a.file) });
    expect(hits).toEqual(['/good.bin']);
  });

  it('leaves a good copy on STREETWATCH_ASSETS alone and does not touch the network', async () => {
    const a = asset('good.bin');
    writeFileSync(join(assetsDir, a.file), PAYLOAD);
    const [r] = await fetchAssets({ assets: [a], cacheDir, env });
    expect(r).toMatchObject({ status: 'found', path: join(assetsDir, a.file) });
    expect(hits).toEqual([]);
  });

  it('refuses wrong bytes with ASSET_HASH_MISMATCH and leaves nothing in the cache', async () => {
    const a = asset('wrong.bin');
    const e = failed((await fetchAssets({ assets: [a], cacheDir, env }))[0]);
    expect(e.code).toBe('ASSET_HASH_MISMATCH');
    expect(e.message).toContain(a.url);
    expect(e.message).toContain(`expected ${SHA}`);
    expect(e.message).toContain(`actual ${createHash('sha256').update(WRONG).digest('hex')}`);
    expect(e.message).toMatch(/nothing was saved/);
    expect(e.message).toMatch(/STREETWATCH_ASSETS/);
    expect(cacheFiles()).toEqual([]);
  });

  it('stops reading a body larger than the pinned size, and spots Git LFS pointers', async () => {
    const [big, lfs] = await fetchAssets({ assets: [asset('big.bin'), asset('lfs.bin')], cacheDir, env });
    expect(failed(big).message).toMatch(/more than the \d+ bytes/);
    expect(failed(lfs).message).toMatch(/Git LFS pointer/);
    expect(cacheFiles()).toEqual([]);
  });

  it('replaces a bad copy in the cache with a good download', async () => {
    const a = asset('good.bin');
    mkdirSync(cacheDir);
    writeFileSync(join(cacheDir, a.file), 'truncated');
    const [r] = await fetchAssets({ assets: [a], cacheDir, env });
    expect(r?.status).toBe('downloaded');
    expect(readFileSync(join(cacheDir, a.file)).equals(PAYLOAD)).toBe(true);
  });

  it('does not download over a bad copy outside the cache (the resolver would still pick it) and says so', async () => {
    const a = asset('good.bin');
    writeFileSync(join(assetsDir, a.file), 'wrong file');
    const e = failed((await fetchAssets({ assets: [a], cacheDir, env }))[0]);
    expect(e.code).toBe('ASSET_HASH_MISMATCH');
    expect(e.message).toContain(join(assetsDir, a.file));
    expect(hits).toEqual([]);
  });

  it('reports an HTTP error status', async () => {
    const e = failed((await fetchAssets({ assets: [asset('missing.bin')], cacheDir, env }))[0]);
    expect(e.code).toBe('ASSET_DOWNLOAD_FAILED');
    expect(e.message).toMatch(/HTTP 404/);
  });

  it('gives up on a server that never answers after the connect timeout', async () => {
    const t0 = Date.now();
    const e = failed((await fetchAssets({ assets: [asset('silent.bin')], cacheDir, env, connectTimeoutMs: 300 }))[0]);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(e.message).toMatch(/timeout: no answer from 127\.0\.0\.1:\d+ within 0\.3 s/);
    expect(cacheFiles()).toEqual([]);
  });

  it('names a DNS failure (or times out) for a host that cannot resolve, without hanging', async () => {
    const a = { ...asset('x'), url: 'http://streetwatch-no-such-host.invalid/x.bin' };
    const t0 = Date.now();
    const e = failed((await fetchAssets({ assets: [a], cacheDir, env, connectTimeoutMs: 2000 }))[0]);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(e.message).toMatch(/DNS failure: cannot resolve streetwatch-no-such-host\.invalid|timeout/);
  });

  it('filters with --only by id or file name', async () => {
    const a = asset('good.bin');
    const b = asset('wrong.bin');
    const byId = await fetchAssets({ assets: [a, b], cacheDir, env, only: [a.id] });
    expect(byId.map((r) => r.asset.id)).toEqual([a.id]);
    const byFile = await fetchAssets({ assets: [a, b], cacheDir, env, only: [b.file] });
    expect(byFile.map((r) => r.asset.id)).toEqual([b.id]);
    await expect(fetchAssets({ assets: [a], cacheDir, env, only: ['nope'] })).rejects.toThrow(/no asset named 'nope'.*known ids/);
  });
});

describe('fetch-assets command', () => {
  it('exits 1 quickly with one clear line when the URL cannot be reached', async () => {
    const url = `http://127.0.0.1:${await freePort()}/x`;
    const a = { ...asset('x', 'sw-test-unreachable.onnx'), url, manifestPath: join(PROJECT_ROOT, 'models', 'sw-test-unreachable.json') };
    const out: string[] = [];
    const err: string[] = [];
    const t0 = Date.now();
    const code = await run(['--timeout', '5'], { assets: [a], cacheDir, env, out: (l) => out.push(l), err: (l) => err.push(l) });
    expect(code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(5000);
    const line = err.find((l) => l.startsWith(`${a.id}: FAILED`));
    expect(line).toBeDefined();
    expect(line).toContain(url);
    expect(line).toMatch(/connection refused/);
    expect(line).toMatch(/Copy sw-test-unreachable\.onnx .*STREETWATCH_ASSETS/);
    expect(line).toContain('[ASSET_DOWNLOAD_FAILED]');
    expect(err.at(-1)).toBe('1 of 1 asset(s) not available.');
    expect(cacheFiles()).toEqual([]);
  });

  it('exits 0 and reports where each asset was found or downloaded', async () => {
    const found = asset('good.bin', 'sw-test-found.bin');
    writeFileSync(join(assetsDir, found.file), PAYLOAD);
    const fetched = asset('good.bin', 'sw-test-fetched.bin');
    const out: string[] = [];
    const code = await run([], { assets: [found, fetched], cacheDir, env, out: (l) => out.push(l), err: (l) => out.push(l) });
    expect(code).toBe(0);
    expect(out).toContain(`${found.id}: ok (found at ${join(assetsDir, found.file)})`);
    expect(out.some((l) => l.startsWith(`${fetched.id}: ok (downloaded from ${fetched.url} to `))).toBe(true);
    expect(out.at(-1)).toBe('all 2 asset(s) available.');
  });

  it('rejects a bad --timeout', async () => {
    await expect(run(['--timeout', 'soon'], { assets: [], cacheDir, env })).rejects.toThrow(/--timeout wants a positive number/);
  });

  // The real manifests against the real ../shared: no network needed, so this runs offline too.
  function spawn(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const childEnv: NodeJS.ProcessEnv = { ...process.env, STREETWATCH_ASSET_CACHE: cacheDir };
      delete childEnv.STREETWATCH_ASSETS;
      execFile(process.execPath, args, { cwd: PROJECT_ROOT, env: childEnv, timeout: 60_000 }, (e, stdout, stderr) =>
        resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  it('`streetwatch fetch-assets` finds every pinned asset in ../shared', async () => {
    const r = await spawn(['bin/streetwatch.js', 'fetch-assets']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^yolox-nano-416: ok \(found at \.\.\/shared\/models\/yolox_nano_416\.onnx\)$/m);
    expect(r.stdout).toMatch(/^oxford-towncentre-pedestrians: ok \(found at \.\.\/shared\/media\/oxford_towncentre_pedestrians\.mp4\)$/m);
    expect(r.stdout).toMatch(/all 7 asset\(s\) available\./);
    expect(cacheFiles()).toEqual([]);
  }, 60_000);

  it('`npm run fetch-assets` runs the same command (scripts/fetch-assets.ts) and honours --only', async () => {
    const r = await spawn(['bin/run-ts.js', 'scripts/fetch-assets.ts', '--only', 'picodet-xs-320']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'picodet-xs-320: ok (found at ../shared/models/picodet_xs_320_lcnet_postprocessed.onnx)',
      'all 1 asset(s) available.',
    ]);
    const bad = await spawn(['bin/run-ts.js', 'scripts/fetch-assets.ts', '--only', 'nope']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no asset named 'nope'.*\[USAGE\]/);
  }, 60_000);
});
