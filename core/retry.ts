import { StreetwatchError } from './errors.js';

export interface BackoffPolicy {
  /** First delay, ms. */
  initialMs: number;
  /** Cap on any one delay, ms. */
  maxMs: number;
  /** Growth per attempt (2 = doubling). */
  factor: number;
  /** 0..1: the delay is drawn uniformly from [d·(1−jitter), d]. Jitter spreads 13,000 cameras' reconnects. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 10_000, factor: 2, jitter: 0.3 };

/** Delay before retry number `attempt` (0-based). Pure: pass `random` for tests. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const raw = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt));
  const low = raw * (1 - Math.min(1, Math.max(0, policy.jitter)));
  return Math.round(low + (raw - low) * random());
}

/** Sleeps `ms`, or rejects with STOPPED as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new StreetwatchError('STOPPED', 'aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new StreetwatchError('STOPPED', 'aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryOptions extends Partial<BackoffPolicy> {
  /** Attempts in all, including the first. Infinity retries until `signal` aborts. */
  attempts: number;
  signal?: AbortSignal;
  /** Which errors are worth another try; default: StreetwatchError.retriable, or any non-Streetwatch error. */
  isRetriable?: (e: unknown) => boolean;
  onRetry?: (e: unknown, attempt: number, delayMs: number) => void;
  random?: () => number;
}

/** The one retry helper: capped exponential backoff with jitter, abortable, stops on non-retriable errors. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const policy: BackoffPolicy = { ...DEFAULT_BACKOFF, ...stripUndefined(opts) };
  const isRetriable = opts.isRetriable ?? ((e: unknown) => !(e instanceof StreetwatchError) || e.retriable);
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt + 1 >= opts.attempts || !isRetriable(e) || opts.signal?.aborted) throw e;
      const delay = backoffDelay(attempt, policy, opts.random);
      opts.onRetry?.(e, attempt, delay);
      await sleep(delay, opts.signal);
    }
  }
}

function stripUndefined(o: Partial<BackoffPolicy>): Partial<BackoffPolicy> {
  const out: Partial<BackoffPolicy> = {};
  for (const k of ['initialMs', 'maxMs', 'factor', 'jitter'] as const) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
