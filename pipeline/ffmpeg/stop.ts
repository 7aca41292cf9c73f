import type { ChildProcess } from 'node:child_process';

/**
 * Ends an ffmpeg: 'q' on stdin (a clean stop: the last segment or chunk is closed properly), then SIGTERM,
 * then SIGKILL, each after `stepMs`; resolves only once the process is reaped, so no zombie and no orphan is
 * left. The camera decoder, the shared decoders and the live view stop their ffmpeg with it. `ask` replaces
 * the 'q' for an ffmpeg whose stdin carries its input (a shared decoder: ending the input ends it).
 */
export async function stopChild(child: ChildProcess, exited: Promise<unknown>, stepMs: number, ask?: () => void): Promise<void> {
  const waitExit = (ms: number) =>
    Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    await exited;
    return;
  }
  try {
    if (ask) ask();
    else child.stdin?.write('q');
  } catch {
    /* stdin closed: go on to signals */
  }
  if (await waitExit(stepMs)) return;
  child.kill('SIGTERM');
  if (await waitExit(stepMs)) return;
  child.kill('SIGKILL');
  await exited;
}
