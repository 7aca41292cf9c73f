import { isStreetwatchError } from '../../core/errors.js';
import { createKeyFiles, DEFAULT_KEYS_DIR } from '../../dispatcher/evidence/keys.js';
import { parseCli, usage, withUsage } from '../args.js';

export const summary = 'make the Ed25519 key pair that signs evidence manifests (keys init)';

const HELP = `usage: streetwatch keys init [--dir <keys dir>] [--force]

Makes the evidence signing key pair: <dir>/evidence-ed25519.key (private, mode 0600) and
<dir>/evidence-ed25519.pub (public; give it to whoever verifies evidence). The default folder is
$STREETWATCH_KEYS_DIR or ${DEFAULT_KEYS_DIR}. An existing pair is never replaced without --force: packages
signed with it need its public key to verify. Exit 0 made, 1 refused or failed, 2 usage error.`;

export const run = (argv: string[]): Promise<number> => withUsage('keys', HELP, async () => {
  const { values, positionals } = parseCli(argv, { dir: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'init') throw usage(positionals.length ? `unknown subcommand '${positionals.join(' ')}'` : 'which subcommand?');
  const dir = values.dir ?? process.env.STREETWATCH_KEYS_DIR ?? DEFAULT_KEYS_DIR;
  try {
    const made = createKeyFiles(dir, { force: values.force });
    process.stdout.write(`key ${made.keyId}\n  private ${made.privatePath} (mode 0600; keep it on the dispatcher only)\n  public  ${made.publicPath}\n`);
    return 0;
  } catch (e) {
    if (isStreetwatchError(e, 'KEY_EXISTS')) {
      process.stderr.write(`streetwatch keys init: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
});
