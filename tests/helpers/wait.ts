/** Time in tests: polling for a condition instead of sleeping a guessed amount, and the plain pause. */

export interface WaitOptions {
  /**
   * How often to poll. The default suits conditions about processes, files and brokers; a test of a poller
   * that itself runs every few ms wants a finer step so it does not wait out a whole step after the change.
   */
  everyMs?: number;
}

/**
 * Polls `predicate` until it holds; throws naming `what` after `timeoutMs`. A predicate that throws counts as
 * not yet (a file still being written, a server still starting), and its last error is in the timeout message.
 */
export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string, opts: WaitOptions = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await predicate()) return;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    }
    await sleep(opts.everyMs ?? 100);
  }
}

/** A pause, for the few tests whose point is that time passes (a linger, a backoff, a broker kept down). */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
