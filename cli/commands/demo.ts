import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../core/paths.js';
import { buildScenario } from '../../pipeline/scenario/build.js';
import { freePort } from '../../core/net.js';
import { serveOptions } from '../args.js';
import { run as runPipeline } from './run.js';

export const summary = 'the embedded demo (npm start): builds the demo scene once, then runs config/demo.yaml on it';

export const DEMO_CONFIG = join(PROJECT_ROOT, 'config/demo.yaml');
export const DEMO_SCENE_SPEC = join(PROJECT_ROOT, 'config/demo-scene.yaml');
/** config/demo.yaml's camera plays `../data/demo/scene/video.mp4`: keep the two in step. */
export const DEMO_SCENE_DIR = join(PROJECT_ROOT, 'data/demo/scene');
const HASH_FILE = 'spec.sha256';

const HELP = `usage: streetwatch demo [--port N] [--host H]

The embedded demo: composes config/demo-scene.yaml (the Oxford street clip with a stacking, a door-front and a
stall violation appearing a few seconds apart) into data/demo/scene/ when it is missing or the spec changed,
then runs 'streetwatch run --config config/demo.yaml' on it, the camera looping. Incidents of the three kinds
are confirmed within about a minute. --port 0 picks a free port.`;

export async function run(argv: string[]): Promise<number> {
  const opts = await serveOptions(['--config', DEMO_CONFIG, ...argv], 'demo', HELP);
  if (typeof opts === 'number') return opts;
  const { config } = opts.loaded;
  let port = opts.port;
  // The URL goes out before the pipeline starts, so it needs the real port up front.
  if (port === 0) port = await freePort(opts.host);
  const host = ['0.0.0.0', '::'].includes(opts.host) ? '127.0.0.1' : opts.host;
  const token = config.console.tokens.find((t) => t.role === 'command')?.token;
  // stderr: stdout carries the pipeline's JSON log lines.
  process.stderr.write(`streetwatch 演示 demo — 控制台 console: http://${host.includes(':') ? `[${host}]` : host}:${port}/${token ? `  (指挥室令牌 command token: ${token})` : ''}\n`);
  const built = await ensureDemoScene(DEMO_SCENE_SPEC, DEMO_SCENE_DIR, () =>
    process.stderr.write('正在合成演示场景 composing the demo scene into data/demo/scene/ (once; about half a minute)…\n'),
  );
  if (built) process.stderr.write('演示场景已就绪 demo scene ready\n');
  return runPipeline(['--config', DEMO_CONFIG, '--port', String(port), '--host', opts.host]);
}

/**
 * Builds the scene of `specFile` into `outDir` unless it is already there from the same spec (the spec's hash
 * is kept beside the video). Built in a sibling folder and renamed into place, so an interrupted build never
 * leaves a half-written video that would pass for the scene. Returns whether it built.
 */
export async function ensureDemoScene(specFile: string, outDir: string, onBuild?: () => void): Promise<boolean> {
  const hash = createHash('sha256').update(await readFile(specFile)).digest('hex');
  const out = resolve(outDir);
  const stored = await readFile(join(out, HASH_FILE), 'utf8').catch(() => '');
  if (stored.trim() === hash && existsSync(join(out, 'video.mp4'))) return false;
  onBuild?.();
  await removeAbandonedBuilds(out);
  const tmp = `${out}.building-${process.pid}`;
  try {
    await buildScenario(specFile, tmp);
    await writeFile(join(tmp, HASH_FILE), hash + '\n');
    await rm(out, { recursive: true, force: true });
    await rename(tmp, out);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return true;
}

/** Ctrl-C during a build (the first start takes a while) kills the process before it can clean up. */
async function removeAbandonedBuilds(out: string): Promise<void> {
  const prefix = `${basename(out)}.building-`;
  const names = await readdir(dirname(out)).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(name.slice(prefix.length));
    if (!name.startsWith(prefix) || !Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    await rm(join(dirname(out), name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
