import type { ChildProcess } from 'node:child_process';

/**
 * Ends an ffmpeg: 'q' on stdin (a clean stop: the last segment or chunk is closed properly), then SIGTERM,
 * then SIGKILL, each after `stepMs`; resolves only once the process is reaped, so no zombie and no orphan is
 * left. The camera decoder and the live view both stop their ffmpeg with it.
 */
export async function stopChild(child: ChildProcess, exited: Promise<unknown>, stepMs: number): Promise<void> {
  const waitExit = (ms: number) =>
    Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    await exited;
    return;
  }
  try {
    child.stdin?.write('q');
  } catch {
    /* stdin closed: go on to signals */
  }
  if (await waitExit(stepMs)) return;
  child.kill('SIGTERM');
  if (await waitExit(stepMs)) return;
  child.kill('SIGKILL');
  await exited;
}
