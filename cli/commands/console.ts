import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../config/loader.js';
import type { Config } from '../../config/schema.js';
import { watchConfig } from '../../config/watch.js';
import { createLogger, setRootLogger } from '../../core/log.js';
import { createMetrics } from '../../core/metrics.js';
import { EvidenceReader } from '../../console/evidence.js';
import { liveHubFor } from '../../console/live/hub.js';
import { startHttpServer } from '../../console/server.js';
import { loadPublicKeyFile, PUBLIC_KEY_FILE } from '../../dispatcher/evidence/keys.js';
import { IncidentStore } from '../../dispatcher/incidents/store.js';
import { dispatchPaths } from '../../dispatcher/paths.js';
import { parseCli } from '../args.js';

export const summary = 'serve the command-room console on its own, over the data folder of a config';

const HELP = `usage: streetwatch console --config <file> [--port N] [--host H]

Serves the command-room console (http://<host>:<port>/; API in console/API.md) over the incident store and
evidence of the config's storage.dataDir, without running the cameras: for a console machine beside the
pipeline, or to look at the incidents of a stopped pipeline. Live view starts its own ffmpeg per camera.
Re-dispatches and squads' status reports are written to the store's outbox; the pipeline's relay publishes
them (with Kafka), so run 'streetwatch run' on the same data folder for them to leave.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, {
    config: { type: 'string', short: 'c' },
    port: { type: 'string' },
    host: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (!values.config) {
    process.stderr.write(HELP + '\n');
    return 2;
  }
  const loaded = await loadConfig(values.config);
  const port = values.port !== undefined ? Number(values.port) : loaded.config.http.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`streetwatch console: --port must be 0..65535, got '${values.port}'\n`);
    return 2;
  }
  const log = createLogger({ level: loaded.config.log.level });
  setRootLogger(log);
  let config: Config = loaded.config;
  const paths = dispatchPaths(config, loaded.baseDir);
  const publicKey = join(paths.keysDir, PUBLIC_KEY_FILE);
  if (!existsSync(publicKey)) log.warn({ key: publicKey }, 'console: no evidence public key yet; evidence is shown without verification until the pipeline has made its key');
  const store = new IncidentStore(paths.storeFile, randomUUID);
  store.start();
  const metrics = createMetrics();
  const live = liveHubFor(() => config, loaded.baseDir, log, metrics);
  await live.start();
  const http = await startHttpServer({
    host: values.host ?? config.http.host,
    port,
    metrics,
    log,
    config: () => config,
    baseDir: loaded.baseDir,
    store,
    evidence: new EvidenceReader(paths.evidenceRoot, existsSync(publicKey) ? loadPublicKeyFile(publicKey) : undefined),
    live,
  });
  log.info({ url: http.url, config: loaded.file, store: paths.storeFile }, 'streetwatch console running');
  const unwatch = watchConfig(loaded.file, () => {
    loadConfig(loaded.file).then(
      (next) => {
        config = next.config;
        log.info('console: config reloaded (names, zones, tokens, plan)');
      },
      (e: unknown) => log.error({ err: e }, `console: new config rejected, the running one stays: ${(e as Error).message}`),
    );
  });
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  unwatch();
  await http.stop();
  await live.stop();
  store.stop();
  return 0;
}
