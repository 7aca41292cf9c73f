import { readdir, readFile } from 'node:fs/promises';

export interface ProcInfo {
  pid: number;
  ppid: number;
  /** R, S, D, Z (zombie), T (stopped)… */
  state: string;
  cmd: string;
}

/** Processes whose command line contains `nameFilter` ('' for all), read from /proc. */
export async function listProcesses(nameFilter: string): Promise<ProcInfo[]> {
  const out: ProcInfo[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // the command name is in parentheses and may contain spaces: parse after the last ')'
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').join(' ').trim();
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const cmd = cmdline || `[${comm}]`;
      if (nameFilter && !cmd.includes(nameFilter)) continue;
      out.push({ pid: Number(entry), ppid: Number(rest[1]), state: rest[0]!, cmd });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** The ffmpeg children of process `parent`, by camera (each camera's ffmpeg writes to its ring folder, ring/<camera>/). */
export async function ffmpegByCamera(parent: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const p of await listProcesses('ffmpeg')) {
    if (p.ppid !== parent) continue;
    const m = /ring\/([^/]+)\//.exec(p.cmd);
    if (m) out.set(m[1]!, p.pid);
  }
  return out;
}
