import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/loader.js';
import { createMetrics } from '../../core/metrics.js';
import { verifyEvidence } from '../../dispatcher/evidence/verify.js';
import { DispatchStage } from '../../dispatcher/stage.js';
import { buildScenario } from '../../pipeline/scenario/build.js';
import { killRuns, startRun } from '../helpers/cli.js';
import { memoryLogger } from '../helpers/pipeline.js';
import { waitFor } from '../helpers/wait.js';

// Evidence owed at a crash is not forgotten. `streetwatch run` (a composed street scene read at its own pace,
// writing its ring) is SIGKILLed right after an incident's instant package (r1) is sealed and before its
// full-resolution package (r2) is: the store still says r2 is owed, and `evidence verify` says it is missing.
//  - The next run finishes it from the ring (stills at first sighting, confirmation and latest, the clip).
//  - On a copy of the crashed data whose ring has rotated away meanwhile, the next start cannot: it seals a
//    signed lost marker as r2, records the loss on the incident and in a metric, and verify reports it.

const dir = mkdtempSync(join(tmpdir(), 'sw-evidence-crash-'));
const CRATES = { image: 'asset:perth_fruit_market_stall.jpg', crop: [0, 520, 300, 200], width: 0.12 };
// One pile on the right-hand pavement from 8 s: confirmed after ≈ 20 s.
const spec = {
  name: 'evidence-crash',
  background: 'asset:oxford_towncentre_pedestrians.mp4',
  duration: 40,
  start: '2026-06-01T10:00:00+08:00',
  camera: { id: 'cam-c', zones: [{ id: 'z1', kind: 'no_stacking', polygon: [[0.62, 0.6], [0.98, 0.6], [0.98, 0.98], [0.62, 0.98]], rules: { stacking: { dwell: 8 } } }] },
  objects: [{ ...CRATES, at: [0.8, 0.9], appear: 8, leave: 200, truth: { type: 'stacking', zone: 'z1' } }],
};
let config = '';

beforeAll(async () => {
  mkdirSync(join(dir, 'spec'), { recursive: true });
  writeFileSync(join(dir, 'spec', 'spec.yaml'), stringify(spec));
  config = (await buildScenario(join(dir, 'spec', 'spec.yaml'), join(dir, 'scene'))).config;
  const cfg = parse(readFileSync(config, 'utf8'));
  // a live camera: read at its own pace, stamped with the wall clock (as the ring's segment names are), ring on
  const source = cfg.cameras[0].source;
  delete source.startTime;
  source.realtime = true;
  cfg.cameras[0].ring = { enabled: true, segmentSec: 2, keepMinutes: 5 };
  cfg.evidence = { ...cfg.evidence, clipBeforeSec: 2, clipAfterSec: 4 };
  cfg.dispatch = { routing: { squads: [{ id: 'sq-1', name: '一中队' }], defaultSquad: 'sq-1' } };
  writeFileSync(config, stringify(cfg));
}, 240_000);

afterAll(() => {
  killRuns();
  rmSync(dir, { recursive: true, force: true });
});

const startCrashRun = () => startRun(config, { cwd: dir, args: ['--port', '0'] });

function query<T>(dataDir: string, sql: string): T[] {
  const conn = new Database(join(dataDir, 'streetwatch.db'), { readonly: true, fileMustExist: true });
  try {
    return conn.prepare(sql).all() as T[];
  } finally {
    conn.close();
  }
}

const publicKey = (dataDir: string) => readFileSync(join(dataDir, 'keys', 'evidence-ed25519.pub'), 'utf8');

describe('evidence owed at a crash', () => {
  it('SIGKILL between the snapshot and the full package: the next run makes it from the ring; a rotated ring makes a visible, verified loss', async () => {
    const dataDir = join(dirname(config), 'data');
    const evidence = join(dataDir, 'evidence');
    const incidentDirs = () => (existsSync(evidence) ? readdirSync(evidence).filter((n) => !n.startsWith('.') && n !== 'chain.jsonl') : []);

    // run 1: killed the moment the instant package is sealed (the full one waits seconds for the ring)
    const run1 = startCrashRun();
    try {
      await waitFor(() => incidentDirs().some((id) => existsSync(join(evidence, id, 'r1', 'manifest.json'))), 150_000, 'the instant package r1');
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${run1.output().slice(-4000)}`, { cause: e });
    }
    run1.proc.kill('SIGKILL');
    expect(await run1.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const [id] = incidentDirs();
    expect(existsSync(join(evidence, id!, 'r2'))).toBe(false);
    expect(query<{ kind: string; state: string }>(dataDir, `SELECT kind, state FROM evidence_owed WHERE incident_id = '${id}'`)).toEqual([{ kind: 'full', state: 'owed' }]);
    // until it is made, the root is not complete: verify names the revision that never came
    const crashed = await verifyEvidence(evidence, publicKey(dataDir));
    expect(crashed.ok).toBe(false);
    expect(crashed.problems).toEqual([expect.objectContaining({ item: `${id}/r2`, problem: 'missing' })]);

    // a copy of the crashed data whose ring rotated away while the process was down
    const lostDir = join(dir, 'lost-data');
    cpSync(dataDir, lostDir, { recursive: true });
    rmSync(join(lostDir, 'ring'), { recursive: true, force: true });

    // run 2 finishes the owed package while the ring still holds its moments
    const run2 = startCrashRun();
    try {
      await waitFor(() => existsSync(join(evidence, id!, 'r2', 'manifest.json')), 120_000, 'run 2 to seal the owed full package');
      const files = readdirSync(join(evidence, id!, 'r2'));
      expect(files).toEqual(expect.arrayContaining(['still-first.png', 'still-confirmed.png', 'still-latest.png', 'clip.mp4', 'meta.json']));
      await waitFor(() => query<{ state: string }>(dataDir, `SELECT state FROM evidence_owed WHERE incident_id = '${id}' AND kind = 'full'`)[0]?.state === 'done', 10_000, 'the owed row done');
      const r2Meta = JSON.parse(readFileSync(join(evidence, id!, 'r2', 'meta.json'), 'utf8'));
      expect(r2Meta.missing).toEqual([]);
      const after = await verifyEvidence(evidence, publicKey(dataDir));
      expect(after.problems).toEqual([]);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- run 2 output (tail) ---\n${run2.output().slice(-4000)}`, { cause: e });
    } finally {
      run2.proc.kill('SIGINT');
      await run2.exited;
    }

    // the copy without its ring: the next start cannot make r2, and says so everywhere
    const loaded = await loadConfig(config);
    const cfg = { ...loaded.config, storage: { ...loaded.config.storage, dataDir: lostDir } };
    const metrics = createMetrics(new Registry());
    const { log } = memoryLogger('warn');
    const stage = new DispatchStage({ config: cfg, baseDir: loaded.baseDir, log, metrics });
    await stage.start();
    await stage.idle();
    await stage.stop();
    const marker = JSON.parse(readFileSync(join(lostDir, 'evidence', id!, 'r2', 'meta.json'), 'utf8'));
    expect(marker.lost.reason).toMatch(/ring no longer holds/);
    expect(readdirSync(join(lostDir, 'evidence', id!, 'r2')).sort()).toEqual(['manifest.json', 'meta.json']);
    const inc = JSON.parse(query<{ data: string }>(lostDir, `SELECT data FROM incidents WHERE id = '${id}'`)[0]!.data);
    expect(inc.evidenceLost).toEqual([expect.objectContaining({ kind: 'full', revision: 2, reason: expect.stringMatching(/ring no longer holds/) })]);
    expect(query<{ state: string }>(lostDir, `SELECT state FROM evidence_owed WHERE incident_id = '${id}'`)).toEqual([{ state: 'lost' }]);
    expect(query<{ kind: string }>(lostDir, `SELECT kind FROM incident_events WHERE incident_id = '${id}'`).map((e) => e.kind)).toContain('evidence_lost');
    expect((await metrics.evidenceLost.get()).values).toEqual([expect.objectContaining({ labels: { kind: 'full' }, value: 1 })]);
    const lost = await verifyEvidence(join(lostDir, 'evidence'), publicKey(lostDir));
    expect(lost.ok).toBe(false);
    expect(lost.problems).toEqual([expect.objectContaining({ item: `${id}/r2/meta.json`, problem: 'lost' })]);
  }, 420_000);
});
