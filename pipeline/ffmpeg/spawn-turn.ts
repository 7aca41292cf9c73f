/**
 * One ffmpeg spawn per turn of the event loop.
 *
 * fluent-ffmpeg's `run()` spawns at the end of a chain of `process.nextTick` callbacks, and a spawn blocks the
 * event loop until the child has exec'd (libuv forks, then waits on a pipe for the exec). Cameras started
 * together therefore all spawned inside one nextTick drain: at 150 cameras the event loop was blocked for
 * 19 s, during which nothing read the pipes — the shared decoders stopped answering and were replaced, and no
 * camera came up for 25 s. Queued here, each spawn runs in its own turn (the next one is scheduled with
 * `setImmediate` from inside the previous, so timers and I/O run in between).
 */
const queue: Array<() => void> = [];
let scheduled = false;

/**
 * Runs `spawn` (which calls fluent-ffmpeg's `run()`) in a later event-loop turn of its own, in call order —
 * or, with `first`, ahead of the spawns already waiting: a shared decoder that the cameras spawned before it
 * already need must not wait behind the rest of a start-up's cameras.
 */
export function inSpawnTurn(spawn: () => void, opts: { first?: boolean } = {}): void {
  if (opts.first) queue.unshift(spawn);
  else queue.push(spawn);
  if (!scheduled) {
    scheduled = true;
    setImmediate(next);
  }
}

function next(): void {
  const spawn = queue.shift();
  try {
    spawn?.();
  } finally {
    if (queue.length) setImmediate(next);
    else scheduled = false;
  }
}

/** Spawns queued and not yet run (for tests). */
export function spawnsQueued(): number {
  return queue.length;
}
