import { isStreetwatchError } from '../core/errors.js';
import { redact } from '../core/redact.js';

/**
 * The `streetwatch` command line. Each command lives in cli/commands/<name>.ts and exports
 * `run(argv): Promise<number>` (the exit code) and `summary` (one line for the help text).
 * Commands load lazily so `streetwatch validate-config` does not pay for onnxruntime or sharp.
 */
export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  run: () => import('./commands/run.js'),
  console: () => import('./commands/console.js'),
  demo: () => import('./commands/demo.js'),
  'validate-config': () => import('./commands/validate-config.js'),
  probe: () => import('./commands/probe.js'),
  'fetch-assets': () => import('./commands/fetch-assets.js'),
  detectors: () => import('./commands/detectors.js'),
  detect: () => import('./commands/detect.js'),
  'new-detector': () => import('./commands/new-detector.js'),
  scenario: () => import('./commands/scenario.js'),
  eval: () => import('./commands/eval.js'),
  keys: () => import('./commands/keys.js'),
  evidence: () => import('./commands/evidence.js'),
  cameras: () => import('./commands/cameras.js'),
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    await printHelp();
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`streetwatch: unknown command '${name}'. Run 'streetwatch --help' for the list.\n`);
    return 2;
  }
  try {
    const cmd = await load();
    return await cmd.run(rest);
  } catch (e) {
    if (isStreetwatchError(e)) {
      process.stderr.write(`streetwatch ${name}: ${e.message} [${e.code}]\n`);
    } else {
      process.stderr.write(`streetwatch ${name}: ${redact(e instanceof Error ? (e.stack ?? e.message) : String(e))}\n`);
    }
    return 1;
  }
}

async function printHelp(): Promise<void> {
  const lines = ['usage: streetwatch <command> [options]', '', 'commands:'];
  for (const [name, load] of Object.entries(commands)) {
    const cmd = await load();
    lines.push(`  ${name.padEnd(18)} ${cmd.summary}`);
  }
  lines.push('', "Run 'streetwatch <command> --help' for a command's options.");
  process.stdout.write(lines.join('\n') + '\n');
}
