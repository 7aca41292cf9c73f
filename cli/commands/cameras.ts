import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import pino from 'pino';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../config/loader.js';
import { resolveCamera } from '../../config/schema.js';
import { StreetwatchError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { KafkaCameraRegistry } from '../../pipeline/cluster/registry.js';
import { parseCli, usage, withUsage } from '../args.js';

export const summary = 'the cluster camera registry on Kafka (cameras import|put|rm|list)';

const HELP = `usage: streetwatch cameras <subcommand> --cluster <cluster.yaml> [options]

The cameras of cluster mode live in a compacted Kafka topic keyed by camera id (dispatch.kafka.topics.cameras,
default streetwatch.cameras, with dispatch.kafka.cameraPartitions partitions, default 64). <cluster.yaml> is a
streetwatch config whose dispatch.kafka names the brokers.

  import <config.yaml>      put every camera of a config file (its defaults applied to each camera)
  put <camera.yaml|.json>   put one camera (one entry of a config's cameras: list, as YAML or JSON)
  rm <camera id>            remove a camera (a tombstone)
  list [--json]             the registered cameras, and any record that is not a valid camera

A camera is checked with the config file's own schema before anything is written; a bad one is refused,
naming the key path (e.g. cameras/cam-7.zones[0].polygon), and nothing is written for it.
Exit 0 done, 1 refused or failed, 2 usage error.`;

export const run = (argv: string[]): Promise<number> =>
  withUsage('cameras', HELP, async () => {
    const { values, positionals } = parseCli(argv, { cluster: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
    if (values.help) {
      process.stdout.write(HELP + '\n');
      return 0;
    }
    const [sub, arg, ...extra] = positionals;
    if (!sub) throw usage('which subcommand? import, put, rm or list');
    if (!['import', 'put', 'rm', 'list'].includes(sub)) throw usage(`unknown subcommand '${sub}'`);
    if (extra.length) throw usage(`unexpected arguments: ${extra.join(' ')}`);
    if (sub !== 'list' && !arg) throw usage(`cameras ${sub} needs ${sub === 'rm' ? 'a camera id' : 'a file'}`);
    if (!values.cluster) throw usage('--cluster <cluster.yaml> is required (a config whose dispatch.kafka names the brokers)');
    const cluster = await loadConfig(values.cluster);
    const kafka = cluster.config.dispatch?.kafka;
    if (!kafka) {
      throw new StreetwatchError('CONFIG_INVALID', `${cluster.file} has no dispatch.kafka: cluster mode keeps its cameras on Kafka; add dispatch.kafka.brokers (config/example.yaml shows it)`, { details: { file: cluster.file } });
    }
    // stdout carries the answer (`list --json` is parsed by scripts); warnings go to stderr
    const log = createLogger({ level: 'warn', destination: pino.destination(2) });
    const registry = new KafkaCameraRegistry(kafka, { baseDir: cluster.baseDir, logger: log });
    await registry.start();
    try {
      if (sub === 'import') {
        // the whole file is validated first (file:line errors), so a bad file writes nothing
        const source = await loadConfig(arg!);
        for (const cam of source.config.cameras) {
          const resolved = resolveCamera(source.config, cam);
          // a file source's relative path meant "next to the config file" (asset: names are found anywhere)
          if (resolved.source.kind === 'file' && !resolved.source.path.startsWith('asset:') && !isAbsolute(resolved.source.path)) resolved.source = { ...resolved.source, path: resolve(source.baseDir, resolved.source.path) };
          await registry.put(resolved);
          process.stdout.write(`put ${cam.id}\n`);
        }
        process.stdout.write(`${source.config.cameras.length} camera(s) from ${source.file} in ${registry.topic}\n`);
        return 0;
      }
      if (sub === 'put') {
        const text = await readFile(arg!, 'utf8').catch((e: unknown) => {
          throw new StreetwatchError('CONFIG_NOT_FOUND', `cannot read camera file '${arg}': ${(e as Error).message}`, { cause: e });
        });
        let value: unknown;
        try {
          value = parseYaml(text);
        } catch (e) {
          throw new StreetwatchError('CONFIG_INVALID', `${arg} is not YAML or JSON: ${(e as Error).message}`, { cause: e });
        }
        const cam = await registry.put(value);
        process.stdout.write(`put ${cam.id} in ${registry.topic}\n`);
        return 0;
      }
      if (sub === 'rm') {
        await registry.remove(arg!);
        process.stdout.write(`removed ${arg} from ${registry.topic}\n`);
        return 0;
      }
      const snap = await registry.list();
      if (values.json) process.stdout.write(JSON.stringify(snap, null, 2) + '\n');
      else {
        for (const c of snap.cameras) process.stdout.write(`${c.id}\t${c.enabled ? 'enabled' : 'disabled'}\t${c.source.kind}\t${c.name ?? ''}\n`);
        for (const r of snap.refused) process.stdout.write(`refused ${r.key} (partition ${r.partition}, offset ${r.offset}): ${r.reason}\n`);
        process.stdout.write(`${snap.cameras.length} camera(s) in ${registry.topic}${snap.refused.length ? `, ${snap.refused.length} record(s) refused` : ''}\n`);
      }
      return snap.refused.length ? 1 : 0;
    } finally {
      await registry.stop();
    }
  });
