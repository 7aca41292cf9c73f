import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StreetwatchError } from '../../core/errors.js';
import { PROJECT_ROOT } from '../../core/paths.js';
import { parseCli } from '../args.js';

export const summary = 'scaffold a new detector plug-in (folder, README, contract test, registration)';

const MARKER = '// new-detector: registrations below this line';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv, { root: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  const id = positionals[0];
  if (values.help || !id) {
    (values.help ? process.stdout : process.stderr).write('usage: streetwatch new-detector <id> [--root <project folder>]\n');
    return values.help ? 0 : 2;
  }
  const files = scaffoldDetector(id, resolve(values.root ?? PROJECT_ROOT));
  process.stdout.write(`created:\n${files.map((f) => `  ${f}`).join('\n')}\nnext: edit detectors/${id}/index.ts, run 'npm test -- tests/contract/${id}.test.ts', enable it on a camera with mode: shadow\n`);
  return 0;
}

/** Writes the plug-in's files under `root` and registers it; returns the paths written. */
export function scaffoldDetector(id: string, root: string): string[] {
  if (!/^[a-z][a-z0-9-]{1,40}$/.test(id)) throw new StreetwatchError('USAGE', `detector id '${id}' must be lowercase letters, digits and -, starting with a letter`);
  const dir = join(root, 'detectors', id);
  const index = join(root, 'detectors', 'index.ts');
  const catalogue = readFileSync(index, 'utf8');
  if (existsSync(dir) || catalogue.includes(`'${id}'`)) throw new StreetwatchError('USAGE', `detector '${id}' already exists (${dir} or detectors/index.ts); choose another id`);
  if (!catalogue.includes(MARKER)) throw new StreetwatchError('INTERNAL', `detectors/index.ts has lost its marker line '${MARKER}'; add the registration by hand`);
  mkdirSync(dir, { recursive: true });
  const written = [join(dir, 'index.ts'), join(dir, 'README.md'), join(root, 'tests', 'contract', `${id}.test.ts`)];
  writeFileSync(written[0]!, detectorTemplate(id));
  writeFileSync(written[1]!, readmeTemplate(id));
  mkdirSync(join(root, 'tests', 'contract'), { recursive: true });
  writeFileSync(written[2]!, testTemplate(id));
  writeFileSync(index, catalogue.replace(MARKER, `${MARKER}\n  registry.register('${id}', () => import('./${id}/index.js'), { source: 'plugin', family: 'custom', labels: ['bright_object'] });`));
  written.push(index);
  return written;
}

const detectorTemplate = (id: string) => `import { z } from 'zod';
import type { Frame } from '../../core/types.js';
import { DETECTOR_API, defineDetector, type Detection } from '../contract.js';

/**
 * ${id}: a starting point. It reports the bright part of the frame as 'goods', which is real but not useful —
 * replace \`findObjects\` with your model (see detectors/onnx/detector.ts for how an ONNX model is run), keep
 * the manifest honest (labels, labelMap, input, maxBatch) and the contract test passing.
 */
const options = z.strictObject({
  /** Grey level (0..255) above which a pixel counts as bright. */
  threshold: z.number().min(0).max(255).default(230),
  /** Smallest share of the frame a bright area must cover to be reported. */
  minArea: z.number().min(0).max(1).default(0.001),
});

function findObjects(f: Frame, o: z.output<typeof options>): Detection[] {
  let x1 = f.width, y1 = f.height, x2 = -1, y2 = -1, n = 0;
  for (let y = 0; y < f.height; y++) {
    for (let x = 0; x < f.width; x++) {
      const i = (y * f.width + x) * 3;
      const grey = (77 * f.data[i]! + 150 * f.data[i + 1]! + 29 * f.data[i + 2]!) >> 8;
      if (grey < o.threshold) continue;
      n++;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
    }
  }
  if (n < o.minArea * f.width * f.height) return [];
  const box: Detection['box'] = [x1 / f.width, y1 / f.height, (x2 + 1) / f.width, (y2 + 1) / f.height];
  return [{ box, score: Math.min(1, n / ((x2 - x1 + 1) * (y2 - y1 + 1))), label: 'bright_object' }];
}

export default defineDetector({
  manifest: {
    id: '${id}',
    version: '0.1.0',
    api: \`^\${DETECTOR_API}\`,
    description: 'scaffolded example: reports the bright part of the frame',
    licence: 'project',
    family: 'custom',
    labels: ['bright_object'],
    labelMap: { bright_object: 'goods' },
    input: { width: 640, height: 360, pixelFormat: 'rgb24' },
    maxBatch: 8,
    options,
  },
  create(o) {
    let closed = false;
    return {
      async detect(batch, signal) {
        if (closed) throw new Error('${id} is closed');
        return batch.map((f) => (signal.aborted ? [] : findObjects(f, o)));
      },
      async close() {
        closed = true;
      },
    };
  },
});
`;

const readmeTemplate = (id: string) => `# ${id}

A detector plug-in of the streetwatch warehouse (算法仓). The contract it implements is \`detectors/contract.ts\`.

- Edit \`index.ts\`: the manifest (labels, labelMap onto the semantic labels, input, maxBatch, options) and
  \`findObjects\` (your model).
- Test: \`npm test -- tests/contract/${id}.test.ts\` (the shared contract suite, on real frames).
- Try it on photos: \`npx streetwatch detect ../shared/media/perth_fruit_market_stall.jpg --detector ${id} --draw out.png\`.
- Enable it on a camera in shadow mode first (results recorded, never dispatched):

  \`\`\`yaml
  cameras:
    - id: cam-001
      detectors:
        - { id: yolox-nano-416 }
        - { id: ${id}, mode: shadow }
  \`\`\`
`;

const testTemplate = (id: string) => `import detector from '../../detectors/${id}/index.js';
import { oxfordFrame } from '../helpers/frames.js';
import { describeDetectorContract } from './detector-contract.js';

describeDetectorContract('${id}', async () => detector, { frames: () => [0, 10, 20].map((i) => oxfordFrame(640, 360, i)) });
`;
