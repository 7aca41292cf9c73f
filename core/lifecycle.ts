/**
 * Every long-lived part (a camera, the scheduler, the HTTP server, a Kafka sink) implements Service:
 * `start()` brings it up; `stop()` releases everything and may be called any number of times.
 */
export interface Service {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Makes a stop function idempotent and concurrency-safe: the first call runs it, later calls get the same promise.
 */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

/** Stops services in reverse order of start, collecting (not throwing on) individual failures. */
export async function stopAll(services: Iterable<Service>): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const s of [...services].reverse()) {
    try {
      await s.stop();
    } catch (e) {
      errors.push(e);
    }
  }
  return errors;
}

/** Resolves at the first SIGINT or SIGTERM (then stops listening), so a long-running command can shut down cleanly. */
export function stopSignal(onSignal?: (signal: NodeJS.Signals) => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (sig: NodeJS.Signals) => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      onSignal?.(sig);
      resolve(sig);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
