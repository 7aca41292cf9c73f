import { createLogger } from '../../core/log.js';
import { evaluateScenario, GRACE_SEC } from '../../pipeline/eval.js';
import { parseCli } from '../args.js';

export const summary = `score the pipeline on a built scenario: eval --config <dir>/config.yaml --truth <dir>/truth.json [--json] (grace ${GRACE_SEC} s)`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, { config: { type: 'string', short: 'c' }, truth: { type: 'string', short: 't' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, false);
  if (values.help || !values.config || !values.truth) {
    process.stderr.write('usage: streetwatch eval --config <dir>/config.yaml --truth <dir>/truth.json [--json]\n');
    return values.help ? 0 : 2;
  }
  const r = await evaluateScenario(values.config, values.truth, createLogger({ level: 'warn', destination: process.stderr as never }));
  if (values.json) {
    process.stdout.write(JSON.stringify(r) + '\n');
    return 0;
  }
  process.stdout.write(`precision ${r.precision}  recall ${r.recall}  tp ${r.tp} fp ${r.fp} fn ${r.fn}  mean delay ${r.meanDetectDelaySec ?? '-'} s  (${r.frames} frames)\n`);
  for (const [t, s] of Object.entries(r.perType)) process.stdout.write(`  ${t.padEnd(11)} precision ${s.precision}  recall ${s.recall}  tp ${s.tp} fp ${s.fp} fn ${s.fn}\n`);
  for (const h of r.hits) process.stdout.write(`  hit ${h.type} ${h.zone} at ${h.atSec}s${h.shadow ? ' (shadow)' : ''} ${h.matched ? 'matched' : 'UNMATCHED'}\n`);
  return 0;
}
