import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../config/loader.js';
import type { Config } from '../../config/schema.js';
import { watchConfig } from '../../config/watch.js';
import { stopSignal } from '../../core/lifecycle.js';
import { createLogger, setRootLogger } from '../../core/log.js';
import { createMetrics } from '../../core/metrics.js';
import { EvidenceReader } from '../../console/evidence.js';
import { liveHubFor } from '../../console/live/hub.js';
import { startHttpServer } from '../../console/server.js';
import { loadPublicKeyFile, PUBLIC_KEY_FILE } from '../../dispatcher/evidence/keys.js';
import { IncidentStore } from '../../dispatcher/incidents/store.js';
import { dispatchPaths } from '../../dispatcher/paths.js';
import { serveOptions } from '../args.js';

export const summary = 'serve the command-room console on its own, over the data folder of a config';

const HELP = `usage: streetwatch console --config <file> [--port N] [--host H]

Serves the command-room console (http://<host>:<port>/; API in console/API.md) over the incident store and
evidence of the config's storage.dataDir, without running the cameras: for a console machine beside the
pipeline, or to look at the incidents of a stopped pipeline. Live view starts its own ffmpeg per camera.
Re-dispatches and squads' status reports are written to the store's outbox; the pipeline's relay publishes
them (with Kafka), so run 'streetwatch run' on the same data folder for them to leave.`;

export async function run(argv: string[]): Promise<number> {
  const opts = await serveOptions(argv, 'console', HELP);
  if (typeof opts === 'number') return opts;
  const { loaded, host, port } = opts;
  const log = createLogger({ level: loaded.config.log.level });
  setRootLogger(log);
  let config: Config = loaded.config;
  const paths = dispatchPaths(config, loaded.baseDir);
  // the pipeline makes the key at its first start, maybe after this console started: looked for until found
  const publicKey = join(paths.keysDir, PUBLIC_KEY_FILE);
  if (!existsSync(publicKey)) log.warn({ key: publicKey }, 'console: no evidence public key yet; evidence is shown without verification until the pipeline has made its key');
  let publicKeyPem: string | undefined;
  const currentPublicKey = () => (publicKeyPem ??= existsSync(publicKey) ? loadPublicKeyFile(publicKey) : undefined);
  const store = new IncidentStore(paths.storeFile, randomUUID);
  store.start();
  const metrics = createMetrics();
  const live = liveHubFor(() => config, loaded.baseDir, log, metrics);
  await live.start();
  const http = await startHttpServer({
    host,
    port,
    metrics,
    log,
    config: () => config,
    baseDir: loaded.baseDir,
    store,
    evidence: new EvidenceReader(paths.evidenceRoot, currentPublicKey),
    live,
  });
  log.info({ url: http.url, config: loaded.file, store: paths.storeFile }, 'streetwatch console running');
  const unwatch = watchConfig(loaded.file, () => {
    loadConfig(loaded.file).then(
      (next) => {
        config = next.config;
        metrics.configReloads.inc({ result: 'applied' });
        log.info('console: config reloaded (names, zones, tokens, plan)');
      },
      (e: unknown) => {
        metrics.configReloads.inc({ result: 'rejected' });
        log.error({ err: e }, `console: new config rejected, the running one stays: ${(e as Error).message}`);
      },
    );
  });
  await stopSignal((signal) => log.info({ signal }, 'stopping'));
  unwatch();
  await http.stop();
  await live.stop();
  store.stop();
  return 0;
}
