import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { vi } from 'vitest';
import { main } from '../../cli/main.js';
import { PROJECT_ROOT } from '../../core/paths.js';
import { waitFor } from './wait.js';

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

/** A `streetwatch run` child process, its JSON log lines and what it printed. */
export interface RunProcess {
  proc: ChildProcess;
  /** Every JSON line it logged so far (pino), in order. */
  lines: Record<string, unknown>[];
  /** The console's URL once it logged 'streetwatch running', else ''. */
  url(): string;
  /** Everything it printed (stdout and stderr), for failure messages. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits for 'streetwatch running'; fails at once, with its output, if it exits instead. */
  running(timeoutMs?: number): Promise<void>;
}

const runs = new Set<ChildProcess>();

/**
 * Starts the real `streetwatch run --config <file>` (bin/streetwatch.js) as its own process. `killRuns()` in an
 * afterAll SIGKILLs whatever a test left running.
 */
export function startRun(configFile: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv; args?: string[] } = {}): RunProcess {
  const proc = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/streetwatch.js'), 'run', '--config', configFile, ...(opts.args ?? [])], {
    cwd: opts.cwd ?? PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.env && { env: opts.env }),
  });
  runs.add(proc);
  const lines: Record<string, unknown>[] = [];
  const printed: string[] = [];
  let url = '';
  let buf = '';
  proc.stdout!.on('data', (c: Buffer) => {
    printed.push(String(c));
    buf += String(c);
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const obj = JSON.parse(line) as Record<string, unknown>;
        lines.push(obj);
        if (obj.msg === 'streetwatch running') url = String(obj.url);
      } catch {
        /* not a log line */
      }
    }
  });
  proc.stderr!.on('data', (c: Buffer) => printed.push(String(c)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      runs.delete(proc);
      resolve({ code, signal });
    }),
  );
  let done: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((r) => (done = r));
  const output = () => printed.join('');
  return {
    proc,
    lines,
    url: () => url,
    output,
    exited,
    async running(timeoutMs = 60_000) {
      await waitFor(() => url !== '' || done !== undefined, timeoutMs, 'streetwatch run to start');
      if (!url) throw new Error(`streetwatch run exited (${JSON.stringify(done)}) instead of running:\n${output().slice(-4000)}`);
    },
  };
}

/** SIGKILLs every `startRun` process still running (afterAll). */
export function killRuns(): void {
  for (const p of runs) p.kill('SIGKILL');
}
