import { parseArgs } from 'node:util';
import { formatIssues, loadConfig, type ConfigIssue, type LoadedConfig } from '../../config/loader.js';
import { isStreetwatchError } from '../../core/errors.js';

export const summary = 'check a config file and print every problem with file:line:column and key path';

const HELP = `usage: streetwatch validate-config [--json] <file>

Checks a config file (YAML syntax, every key and value, ids that must be unique or must exist) without
starting anything. Prints a one-line summary and exits 0 when it is valid; prints every problem as
"file:line:column  path  message" and exits 1 when it is not (or the file cannot be read); exits 2 on a usage
error. --json prints {"ok", "file", ...} on stdout instead (issues as {file, line, column, path, message}).`;

export async function run(argv: string[]): Promise<number> {
  let values: { json?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`streetwatch validate-config: ${(e as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (positionals.length !== 1) {
    const why = positionals.length === 0 ? 'which file?' : `one file at a time, got ${positionals.length}`;
    process.stderr.write(`streetwatch validate-config: ${why}\n\n${HELP}\n`);
    return 2;
  }
  const file = positionals[0]!;

  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig(file);
  } catch (e) {
    if (!isStreetwatchError(e) || (e.code !== 'CONFIG_INVALID' && e.code !== 'CONFIG_NOT_FOUND')) throw e;
    const issues = (e.details.issues as ConfigIssue[] | undefined) ?? [];
    if (values.json) {
      process.stdout.write(JSON.stringify({ ok: false, file, code: e.code, message: e.message, issues }, null, 2) + '\n');
    } else if (e.code === 'CONFIG_INVALID') {
      const n = issues.length;
      process.stderr.write(
        `${formatIssues(issues)}\n${file}: ${n} problem${n === 1 ? '' : 's'}; config/example.yaml documents every key.\n`,
      );
    } else {
      process.stderr.write(`streetwatch validate-config: ${e.message}\n`);
    }
    return 1;
  }

  const counts = countConfig(loaded);
  if (values.json) {
    process.stdout.write(JSON.stringify({ ok: true, file, ...counts }, null, 2) + '\n');
  } else {
    const kinds = Object.entries(counts.zonesByKind)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ');
    process.stdout.write(
      `${file}: OK — ${plural(counts.cameras, 'camera')} (${counts.enabledCameras} enabled), ` +
        `${plural(counts.zones, 'zone')}${kinds ? ` (${kinds})` : ''}, dispatch ${counts.dispatch}\n`,
    );
  }
  return 0;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function countConfig({ config }: LoadedConfig): {
  cameras: number;
  enabledCameras: number;
  zones: number;
  zonesByKind: Record<string, number>;
  dispatch: 'off' | 'local' | 'kafka';
} {
  const zonesByKind: Record<string, number> = {};
  let zones = 0;
  for (const cam of config.cameras) {
    for (const z of cam.zones) {
      zones++;
      zonesByKind[z.kind] = (zonesByKind[z.kind] ?? 0) + 1;
    }
  }
  return {
    cameras: config.cameras.length,
    enabledCameras: config.cameras.filter((c) => c.enabled).length,
    zones,
    zonesByKind,
    dispatch: config.dispatch === undefined ? 'off' : config.dispatch.kafka ? 'kafka' : 'local',
  };
}
