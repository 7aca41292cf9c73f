import { parseArgs, type ParseArgsConfig } from 'node:util';
import { StreetwatchError } from '../core/errors.js';

/** node:util parseArgs with our usage error (exit code 2 by convention in the commands). */
export function parseCli<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new StreetwatchError('USAGE', (e as Error).message);
  }
}
