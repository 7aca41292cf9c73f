import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { StreetwatchError } from '../../core/errors.js';
import { PROJECT_ROOT } from '../../core/paths.js';
import { parseCli } from '../args.js';

export const summary = 'scaffold a new detector plug-in (detector, README, contract test, warehouse registration)';

const HELP = `usage: streetwatch new-detector <id> [--root <project folder>]

Creates, for a new detector <id> (lowercase letters, digits and -, starting with a letter):
  detectors/<id>/index.ts          a working example detector (defineDetector, strict options) to put the model in
  detectors/<id>/README.md         how to test it and enable it on a camera (shadow mode first)
  tests/contract/<id>.test.ts      the shared contract suite and the detector's own tests
and registers it in detectors/index.ts. Refuses an id the warehouse already has.
--root scaffolds into another copy of the project (default: this one).`;

/** The line in detectors/index.ts under which plug-ins are registered. */
export const REGISTRATION_MARKER = '// new-detector: registrations below this line';
/** Folder names and import paths stay plain: no dots (no `..`), no capitals (case-insensitive file systems). */
const ID_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const TEMPLATES = join(PROJECT_ROOT, 'detectors', 'templates');

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv, { root: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help || positionals.length !== 1) {
    (values.help ? process.stdout : process.stderr).write(HELP + '\n');
    return values.help ? 0 : 2;
  }
  const id = positionals[0]!;
  const root = resolve(values.root ?? PROJECT_ROOT);
  const written = scaffoldDetector(id, root);
  process.stdout.write(
    [
      `created detector '${id}':`,
      ...written.created.map((f) => `  ${relative(root, f)}`),
      `registered in ${relative(root, written.registry)}`,
      '',
      'next:',
      `  edit detectors/${id}/index.ts (findObjects is where the model goes)`,
      `  npx vitest run tests/contract/${id}.test.ts`,
      `  enable it on a camera with mode: shadow (detectors/${id}/README.md)`,
      '',
    ].join('\n'),
  );
  return 0;
}

/**
 * Writes the plug-in's files under `root` and registers it in `root`/detectors/index.ts. Every check runs before
 * anything is written, so a refusal leaves the tree as it was.
 */
export function scaffoldDetector(id: string, root: string): { created: string[]; registry: string } {
  if (!ID_PATTERN.test(id) || id.length > 40) {
    throw new StreetwatchError('USAGE', `detector id '${id}' is not allowed: use lowercase letters, digits and single dashes, starting with a letter, at most 40 characters (e.g. crate-finder)`);
  }
  const index = join(root, 'detectors', 'index.ts');
  if (!existsSync(index)) throw new StreetwatchError('USAGE', `${root} has no detectors/index.ts; give --root the project folder`);
  const catalogue = readFileSync(index, 'utf8');
  if (!catalogue.includes(REGISTRATION_MARKER)) {
    throw new StreetwatchError('INTERNAL', `${index} has lost its marker line '${REGISTRATION_MARKER}'; put it back above the plug-in registrations`);
  }
  const dir = join(root, 'detectors', id);
  const files = { detector: join(dir, 'index.ts'), readme: join(dir, 'README.md'), test: join(root, 'tests', 'contract', `${id}.test.ts`) };
  const clash = [
    existsSync(dir) && `detectors/${id}/ exists`,
    existsSync(join(root, 'detectors', `${id}.ts`)) && `detectors/${id}.ts exists`,
    existsSync(files.test) && `tests/contract/${id}.test.ts exists`,
    new RegExp(`register\\(\\s*['"\`]${id}['"\`]`).test(catalogue) && `detectors/index.ts registers it`,
    modelManifestIds(root).includes(id) && `a model manifest in models/ has this id`,
  ].filter(Boolean);
  if (clash.length) throw new StreetwatchError('USAGE', `detector '${id}' already exists (${clash.join('; ')}); choose another id`);

  const fill = (template: string) => readFileSync(join(TEMPLATES, template), 'utf8').replaceAll('{{id}}', id);
  const contents = [
    [files.detector, fill('detector.ts.tmpl')],
    [files.readme, fill('README.md.tmpl')],
    [files.test, fill('contract.test.ts.tmpl')],
  ] as const;
  const updated = register(catalogue, id);
  mkdirSync(dir, { recursive: true });
  mkdirSync(join(root, 'tests', 'contract'), { recursive: true });
  for (const [path, text] of contents) writeFileSync(path, text, { flag: 'wx' });
  writeFileSync(index, updated);
  return { created: contents.map(([p]) => p), registry: index };
}

/** The catalogue with the plug-in's line after the marker and any plug-in lines already there (oldest first). */
function register(catalogue: string, id: string): string {
  const lines = catalogue.split('\n');
  const at = lines.findIndex((l) => l.includes(REGISTRATION_MARKER));
  const indent = /^\s*/.exec(lines[at]!)![0];
  let end = at + 1;
  while (end < lines.length && /^\s*registry\.register\(/.test(lines[end]!)) end++;
  // The info is what `streetwatch detectors` lists without importing the module; it mirrors the manifest.
  const line = `${indent}registry.register('${id}', () => import('./${id}/index.js'), { source: 'plugin', version: '0.1.0', family: 'custom', licence: 'project', labels: ['bright_region'], description: 'scaffolded example: the brightest region of the frame, as goods' });`;
  lines.splice(end, 0, line);
  return lines.join('\n');
}

function modelManifestIds(root: string): string[] {
  const dir = join(root, 'models');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      try {
        return String((JSON.parse(readFileSync(join(dir, f), 'utf8')) as { id?: unknown }).id ?? f.slice(0, -5));
      } catch {
        // An unreadable manifest fails the warehouse elsewhere, loudly; here its file name still reserves the id.
        return f.slice(0, -5);
      }
    });
}
