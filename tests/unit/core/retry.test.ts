import { describe, expect, it } from 'vitest';
import { backoffDelay, retry } from '../../../core/retry.js';
import { StreetwatchError } from '../../../core/errors.js';

describe('backoffDelay', () => {
  const policy = { initialMs: 1000, maxMs: 10_000, factor: 2, jitter: 0.5 };
  it.each([
    [0, 1, 1000],
    [1, 1, 2000],
    [2, 1, 4000],
    [3, 1, 8000],
    [4, 1, 10_000],
    [20, 1, 10_000],
    [0, 0, 500],
    [4, 0, 5000],
  ])('attempt %i with random %f → %i ms', (attempt, r, want) => {
    expect(backoffDelay(attempt, policy, () => r)).toBe(want);
  });
});

describe('retry', () => {
  it('retries retriable errors and returns the first success', async () => {
    let calls = 0;
    const v = await retry(async () => {
      calls++;
      if (calls < 3) throw new StreetwatchError('SOURCE_UNREACHABLE', 'down', { retriable: true });
      return 'ok';
    }, { attempts: 5, initialMs: 1, maxMs: 2 });
    expect(v).toBe('ok');
    expect(calls).toBe(3);
  });
  it('stops at a non-retriable error', async () => {
    let calls = 0;
    await expect(
      retry(async () => {
        calls++;
        throw new StreetwatchError('CONFIG_INVALID', 'bad');
      }, { attempts: 5, initialMs: 1 }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(calls).toBe(1);
  });
  it('gives up after the attempts', async () => {
    let calls = 0;
    await expect(retry(async () => { calls++; throw new Error('x'); }, { attempts: 3, initialMs: 1, maxMs: 1 })).rejects.toThrow('x');
    expect(calls).toBe(3);
  });
  it('aborts a wait', async () => {
    const ac = new AbortController();
    const p = retry(async () => { throw new Error('x'); }, { attempts: Infinity, initialMs: 10_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toMatchObject({ code: 'STOPPED' });
  });
});
