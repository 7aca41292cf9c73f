import { describe, expect, it } from 'vitest';
import { inSpawnTurn, spawnsQueued } from '../../../../pipeline/ffmpeg/spawn-turn.js';

const settled = () => new Promise<void>((r) => {
  const poll = () => (spawnsQueued() ? setImmediate(poll) : setImmediate(r));
  poll();
});

describe('inSpawnTurn', () => {
  it('runs each spawn in its own event-loop turn, in call order, with other callbacks in between', async () => {
    const log: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      inSpawnTurn(() => {
        log.push(name);
        // work that the spawn's turn makes possible (a pipe read, an HTTP request) runs before the next spawn
        setImmediate(() => log.push(`after-${name}`));
      });
    }
    expect(log).toEqual([]); // never in the caller's turn
    await settled();
    expect(log).toEqual(['a', 'after-a', 'b', 'after-b', 'c', 'after-c']);
  });

  it('puts a spawn asked `first` ahead of those waiting', async () => {
    const log: string[] = [];
    inSpawnTurn(() => log.push('camera-1'));
    inSpawnTurn(() => log.push('camera-2'));
    inSpawnTurn(() => log.push('decoder'), { first: true });
    await settled();
    expect(log).toEqual(['decoder', 'camera-1', 'camera-2']);
  });

  it('keeps going after a spawn that throws', async () => {
    const log: string[] = [];
    const errors: unknown[] = [];
    const onError = (e: unknown) => errors.push(e);
    process.on('uncaughtException', onError);
    try {
      inSpawnTurn(() => {
        throw new Error('spawn failed');
      });
      inSpawnTurn(() => log.push('next'));
      await settled();
    } finally {
      process.off('uncaughtException', onError);
    }
    expect(log).toEqual(['next']);
  });
});
