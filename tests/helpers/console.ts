import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../../config/loader.js';
import type { Config } from '../../config/schema.js';
import { createMetrics, type Metrics } from '../../core/metrics.js';
import { PROJECT_ROOT } from '../../core/paths.js';
import { EvidenceReader } from '../../console/evidence.js';
import { liveHubFor } from '../../console/live/hub.js';
import { startHttpServer } from '../../console/server.js';
import { DispatchStage } from '../../dispatcher/stage.js';
import { createTransport } from '../../dispatcher/transport.js';
import { runCameraToEnd } from '../../pipeline/eval.js';
import { buildScenario } from '../../pipeline/scenario/build.js';
import type { Hit } from '../../rules/types.js';
import { memoryLogger } from './pipeline.js';

/**
 * A real console over a real pipeline for API and browser tests: a scenario (tests/scenarios/*.yaml) is built
 * into a video with ffmpeg, its camera is put into a config with console tokens, dispatch routing and a plan,
 * and `runScenario()` runs the video through the real detectors and rules into the real dispatch stage, whose
 * store and evidence the console serves. The scenario is stamped as recorded just before now, so its
 * incidents fall into "today" for analytics.
 */
export interface ConsoleFixture {
  url: string;
  tokens: { command: string; admin: string; squad: string; otherSquad: string };
  /** The squad the scenario's tickets go to (the `squad` token's). */
  squadId: string;
  dataDir: string;
  config: Config;
  stage: DispatchStage;
  metrics: Metrics;
  /** Runs the scenario's video to its end through detection, rules and dispatch; resolves when evidence is sealed. */
  runScenario(): Promise<Hit[]>;
  stop(): Promise<void>;
}

export const TOKENS = {
  command: 'test-command-token-000001',
  admin: 'test-admin-token-00000001',
  squad: 'test-squad-1-token-000001',
  otherSquad: 'test-squad-2-token-000001',
};

export interface FixtureKafka {
  brokers: string[];
  topics: { tickets: string; ticketStatus: string; dlq: string };
}

export async function startConsoleFixture(opts: { spec?: string; kafka?: FixtureKafka } = {}): Promise<ConsoleFixture> {
  const spec = opts.spec ?? join(PROJECT_ROOT, 'tests/scenarios/stacking-crates.yaml');
  const dir = mkdtempSync(join(tmpdir(), 'sw-console-'));
  const built = await buildScenario(spec, dir);
  const scene = parse(readFileSync(built.config, 'utf8')) as Record<string, unknown> & { cameras: Record<string, unknown>[] };
  const specDuration = Number((parse(readFileSync(spec, 'utf8')) as { duration: number }).duration);
  // recorded until 10 s ago, so every incident of it is in the past and "today"
  const startMs = Date.now() - (specDuration + 10) * 1000;
  // a plan of our own: the test does not depend on the demo's drawing
  const plan = join(dir, 'plan.svg');
  writeFileSync(plan, '<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="800" viewBox="0 0 1200 800"><rect width="1200" height="800" fill="#1d2733"/><path d="M0 400H1200M600 0V800" stroke="#5b6b7d" stroke-width="40"/><text x="620" y="380" fill="#c9d4df" font-size="28">南京东路</text></svg>');
  const cfg = {
    ...scene,
    storage: { dataDir: './data' },
    cameras: scene.cameras.map((c) => ({
      ...c,
      name: '测试摄像机 A / test camera A',
      source: { ...(c.source as object), startTime: new Date(startMs).toISOString().replace('Z', '+00:00') },
      location: { lat: 31.2304, lon: 121.4737, address: '南京东路 100 号', jurisdiction: 'ndl' },
    })),
    dispatch: {
      routing: {
        squads: [
          { id: 'sq-1', name: '一中队' },
          { id: 'sq-2', name: '二中队' },
        ],
        jurisdictions: [{ id: 'ndl', name: '南京东路街道', squad: 'sq-1' }],
        defaultSquad: 'sq-1',
      },
      ...(opts.kafka && { kafka: { brokers: opts.kafka.brokers, clientId: 'sw-console-test', topics: opts.kafka.topics, partitions: 1 } }),
    },
    console: {
      tokens: [
        { name: '指挥室', role: 'command', token: TOKENS.command },
        { name: '管理员', role: 'admin', token: TOKENS.admin },
        { name: '一中队', role: 'squad:sq-1', token: TOKENS.squad },
        { name: '二中队', role: 'squad:sq-2', token: TOKENS.otherSquad },
      ],
      plan: { image: plan, bounds: { west: 121.46, south: 31.22, east: 121.49, north: 31.24 } },
    },
  };
  writeFileSync(built.config, stringify(cfg));
  const loaded = await loadConfig(built.config);
  const { log } = memoryLogger('warn');
  const metrics = createMetrics(new Registry());
  const stage = new DispatchStage({ config: loaded.config, baseDir: loaded.baseDir, log, metrics, ...createTransport(loaded.config, loaded.baseDir, log, metrics) });
  await stage.start();
  await stage.connected();
  const live = liveHubFor(() => loaded.config, loaded.baseDir, log, metrics);
  await live.start();
  const http = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    metrics,
    log,
    config: () => loaded.config,
    baseDir: loaded.baseDir,
    store: stage.store,
    evidence: new EvidenceReader(stage.evidenceRoot, () => stage.publicKeyPem),
    wakeRelay: () => stage.wakeRelay(),
    live,
  });
  return {
    url: http.url,
    tokens: TOKENS,
    squadId: 'sq-1',
    dataDir: join(dir, 'data'),
    config: loaded.config,
    stage,
    metrics,
    async runScenario() {
      const hits: Hit[] = [];
      await runCameraToEnd(built.config, 'cam-a', log, (h) => {
        hits.push(h);
        stage.onHit(h);
      });
      await stage.idle();
      return hits;
    },
    async stop() {
      await http.stop();
      await live.stop();
      await stage.stop();
    },
  };
}
