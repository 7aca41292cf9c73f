import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type LoadedConfig } from '../config/loader.js';
import { isStreetwatchError, StreetwatchError } from '../core/errors.js';

/** node:util parseArgs with our usage error (exit code 2 by convention in the commands). */
export function parseCli<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new StreetwatchError('USAGE', (e as Error).message);
  }
}

/**
 * Runs a command's body, answering a usage error (a USAGE StreetwatchError: from parseCli, or thrown by the
 * body for a wrong subcommand or argument) with the reason and the command's help on stderr, exit code 2.
 */
export async function withUsage(command: string, help: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (!isStreetwatchError(e, 'USAGE')) throw e;
    process.stderr.write(`streetwatch ${command}: ${e.message}\n\n${help}\n`);
    return 2;
  }
}

export const usage = (why: string) => new StreetwatchError('USAGE', why);

/**
 * The options of the commands that serve (`run`, `console`): `--config <file> [--port N] [--host H]`. Returns
 * the exit code to end with when there is nothing to serve (help asked, usage wrong), else the loaded config
 * and where to listen (the config's `http` unless overridden).
 */
export async function serveOptions(argv: string[], command: string, help: string): Promise<number | { loaded: LoadedConfig; host: string; port: number }> {
  const { values } = parseCli(argv, {
    config: { type: 'string', short: 'c' },
    port: { type: 'string' },
    host: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(help + '\n');
    return 0;
  }
  if (!values.config) {
    process.stderr.write(help + '\n');
    return 2;
  }
  const loaded = await loadConfig(values.config);
  const port = values.port !== undefined ? Number(values.port) : loaded.config.http.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`streetwatch ${command}: --port must be 0..65535, got '${values.port}'\n`);
    return 2;
  }
  return { loaded, host: values.host ?? loaded.config.http.host, port };
}
