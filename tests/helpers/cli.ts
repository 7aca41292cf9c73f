import { execFile } from 'node:child_process';
import { vi } from 'vitest';
import { main } from '../../cli/main.js';
import { PROJECT_ROOT } from '../../core/paths.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs `streetwatch <argv>` in this process (cli/main.ts), capturing what it prints: fast, for commands that
 * need no process of their own. The stdout/stderr spies are removed again before it returns.
 */
export async function runCli(...argv: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await main(argv), out, err };
  } finally {
    vi.restoreAllMocks();
  }
}

/** Runs the real CLI entry (bin/streetwatch.js, through tsx) in the checkout, as a user would. */
export function spawnCli(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/streetwatch.js', ...args], { cwd: PROJECT_ROOT, timeout: 60_000 }, (e, stdout, stderr) => {
      const code = e ? (typeof e.code === 'number' ? e.code : -1) : 0;
      resolve({ code, out: stdout, err: stderr });
    });
  });
}
