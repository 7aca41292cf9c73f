import { join } from 'node:path';
import { isStreetwatchError } from '../../core/errors.js';
import { DEFAULT_KEYS_DIR, loadPublicKeyFile, PUBLIC_KEY_FILE } from '../../dispatcher/evidence/keys.js';
import { formatProblem, verifyEvidence } from '../../dispatcher/evidence/verify.js';
import { parseCli, usage, withUsage } from '../args.js';

export const summary = 'check evidence packages: hashes, signatures and the manifest chain (evidence verify)';

const HELP = `usage: streetwatch evidence verify <package dir | evidence root> [--key <public.pem>] [--json]

Checks every file of a package against its signed manifest; given the evidence root, checks every package and
the chain (seq order, each manifest naming its predecessor's hash, chain.jsonl matching the manifests, retired
packages signed off). The key defaults to $STREETWATCH_KEYS_DIR/${PUBLIC_KEY_FILE} or ${DEFAULT_KEYS_DIR}/${PUBLIC_KEY_FILE}.
Exit 0 when everything holds; 1 with one line per changed, missing, extra or re-ordered item (or bad
signature / broken chain); 2 on a usage error (including a missing key or folder).`;

export const run = (argv: string[]): Promise<number> => withUsage('evidence', HELP, async () => {
  const { values, positionals } = parseCli(argv, { key: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const [sub, target, ...more] = positionals;
  if (sub !== 'verify') throw usage(sub ? `unknown subcommand '${sub}'` : 'which subcommand?');
  if (!target || more.length) throw usage(target ? 'one folder at a time' : 'which folder?');
  const keyPath = values.key ?? join(process.env.STREETWATCH_KEYS_DIR ?? DEFAULT_KEYS_DIR, PUBLIC_KEY_FILE);

  let result: Awaited<ReturnType<typeof verifyEvidence>>;
  try {
    result = await verifyEvidence(target, loadPublicKeyFile(keyPath));
  } catch (e) {
    if (isStreetwatchError(e) && (e.code === 'KEY_NOT_FOUND' || e.code === 'KEY_INVALID' || e.code === 'EVIDENCE_NOT_FOUND')) {
      if (values.json) process.stdout.write(JSON.stringify({ error: e.toJSON() }, null, 2) + '\n');
      process.stderr.write(`streetwatch evidence verify: ${e.message} [${e.code}]\n`);
      return 2;
    }
    throw e;
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } else {
    for (const p of result.problems) process.stdout.write(formatProblem(p) + '\n');
    const what = `${result.checked.packages} package(s), ${result.checked.files} file(s)`;
    process.stdout.write(result.ok ? `OK: ${target}: ${what}; hashes, signatures${result.kind === 'root' ? ' and chain' : ''} hold\n` : `FAILED: ${target}: ${result.problems.length} problem(s) in ${what}\n`);
  }
  return result.ok ? 0 : 1;
});
