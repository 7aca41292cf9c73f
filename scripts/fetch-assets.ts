/**
 * `npm run fetch-assets`: the same command as `streetwatch fetch-assets`; this file only gives npm an entry
 * point that needs no CLI dispatch.
 */
import { run } from '../cli/commands/fetch-assets.js';
import { isStreetwatchError } from '../core/errors.js';
import { redact } from '../core/redact.js';

try {
  process.exitCode = await run(process.argv.slice(2));
} catch (e) {
  const text = isStreetwatchError(e) ? `${e.message} [${e.code}]` : redact(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.stderr.write(`fetch-assets: ${text}\n`);
  process.exitCode = 1;
}
