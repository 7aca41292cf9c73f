import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SegmentRing, segmentStartMs, segmentsToPrune, type RingPolicy } from '../../../pipeline/ring.js';

const T0 = new Date(2026, 10, 26, 12, 0, 0).getTime();
const name = (sec: number) => {
  const d = new Date(T0 + sec * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}T${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}.ts`;
};
/** 2 s segments starting at 0, 2, … (n of them); the last is the one ffmpeg writes. */
const ring = (n: number) => Array.from({ length: n }, (_, i) => ({ file: name(2 * i), startMs: segmentStartMs(name(2 * i))! }));
const starts = (segs: { startMs: number }[]) => segs.map((s) => (s.startMs - T0) / 1000);

describe('segment ring', () => {
  it('parses local start times from segment names', () => {
    expect(segmentStartMs('20261126T233432.ts')).toBe(new Date(2026, 10, 26, 23, 34, 32).getTime());
    expect(segmentStartMs('other.ts')).toBeUndefined();
    expect(segmentStartMs('20261126T233432.ts.tmp')).toBeUndefined();
  });

  // A segment ends where the next one starts. 10 segments: 0…18 s, the one at 18 s being written; now = 20 s.
  it.each<[string, RingPolicy, number[]]>([
    ['idle: only the last idleKeep seconds stay', { keepMs: 600_000, idleKeepMs: 8000 }, [0, 2, 4, 6, 8]], // ends 2…10 < 12
    ['pinned at 5 s: everything ending from then on stays', { keepMs: 600_000, idleKeepMs: 8000, pinFromMs: T0 + 5000 }, [0, 2]],
    ['pinned, but keepMs still caps it', { keepMs: 14_000, idleKeepMs: 8000, pinFromMs: T0 }, [0, 2]], // ends 2, 4 < 6
    ['-Infinity pins everything up to keepMs (vehicle cameras)', { keepMs: 600_000, idleKeepMs: 0, pinFromMs: -Infinity }, []],
    ['idleKeep 0 keeps only the segment being written', { keepMs: 600_000, idleKeepMs: 0 }, [0, 2, 4, 6, 8, 10, 12, 14, 16]],
    ['a ring (re)started at 7 s holds what it found up to keepMs: owed evidence from before', { keepMs: 600_000, idleKeepMs: 0, heldBeforeMs: T0 + 7000 }, [8, 10, 12, 14, 16]],
    ['held, but keepMs still caps it', { keepMs: 15_000, idleKeepMs: 0, heldBeforeMs: T0 + 7000 }, [0, 2, 8, 10, 12, 14, 16]],
  ])('%s', (_what, policy, pruned) => {
    expect(starts(segmentsToPrune(ring(10), T0 + 20_000, policy))).toEqual(pruned);
  });

  it('never prunes the newest segment, nor a lone one', () => {
    expect(segmentsToPrune(ring(1), T0 + 1e9, { keepMs: 1, idleKeepMs: 1 })).toEqual([]);
    expect(starts(segmentsToPrune(ring(3), T0 + 1e9, { keepMs: 1, idleKeepMs: 1 }))).toEqual([0, 2]);
  });

  it('order of the listing does not matter', () => {
    expect(starts(segmentsToPrune(ring(10).reverse(), T0 + 20_000, { keepMs: 600_000, idleKeepMs: 8000 }))).toEqual([0, 2, 4, 6, 8]);
  });

  it('SegmentRing: prunes a real folder to the idle window, keeps from the pin while one is set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sw-ring-'));
    for (const seg of ring(10)) writeFileSync(join(dir, seg.file), 'x');
    let pin: number | undefined = T0 + 5000;
    const deleted: string[] = [];
    const r = new SegmentRing({ dir, keepMinutes: 10, idleKeepSec: 8, segmentSec: 2, pinFromMs: () => pin, onDeleted: (f) => deleted.push(...f), now: () => T0 + 20_000 });
    await r.prune();
    expect(readdirSync(dir).length).toBe(8); // 0 and 2 s ended before the pin
    pin = undefined;
    await r.prune();
    expect(readdirSync(dir).sort()).toEqual(ring(10).slice(5).map((s) => s.file));
    expect(deleted.length).toBe(5);
    await r.stop();
  });

  it('SegmentRing: a ring (re)started over old segments keeps them up to keepMinutes, for evidence owed from before', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sw-ring-'));
    for (const seg of ring(10)) writeFileSync(join(dir, seg.file), 'x');
    let now = T0 + 20_000;
    const r = new SegmentRing({ dir, keepMinutes: 0.5, idleKeepSec: 4, segmentSec: 2, now: () => now });
    await r.start(); // prunes once at start
    expect(readdirSync(dir).length).toBe(10);
    // segments written after the start follow the idle window; the old ones go only past keepMinutes (30 s)
    for (let t = 20; t <= 40; t += 2) writeFileSync(join(dir, name(t)), 'x');
    now = T0 + 42_000;
    await r.prune();
    const left = readdirSync(dir).map((f) => (segmentStartMs(f)! - T0) / 1000).sort((a, b) => a - b);
    expect(left).toEqual([10, 12, 14, 16, 18, 36, 38, 40]);
    await r.stop();
  });
});
