import { buildScenario } from '../../pipeline/scenario/build.js';
import { parseCli } from '../args.js';

export const summary = 'build a test scene: scenario build <spec.yaml> --out <dir> (video.mp4, config.yaml, truth.json)';

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseCli(rest, { out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } });
  if (sub !== 'build' || values.help || !positionals[0] || !values.out) {
    process.stderr.write('usage: streetwatch scenario build <spec.yaml> --out <dir>\n');
    return values.help ? 0 : 2;
  }
  const r = await buildScenario(positionals[0], values.out);
  process.stdout.write(`${r.video}\n${r.config}\n${values.out}/truth.json (${r.truth.items.length} violations, ${r.truth.distractors.length} distractors)\n`);
  return 0;
}
