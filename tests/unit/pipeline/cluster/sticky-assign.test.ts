import { describe, expect, it } from 'vitest';
import {
  decodeUserData,
  encodeUserData,
  movedPartitions,
  stickyAssign,
  type MemberState,
  type TopicPartition,
} from '../../../../pipeline/cluster/sticky-assign.js';

type Assignment = Map<string, TopicPartition[]>;

const T = 'cams';
const tp = (partition: number, topic = T): TopicPartition => ({ topic, partition });
const range = (n: number, topic = T): TopicPartition[] => Array.from({ length: n }, (_, i) => tp(i, topic));
const key = (p: TopicPartition) => `${p.topic}/${p.partition}`;
const nums = (list: TopicPartition[] | undefined) => (list ?? []).map((p) => p.partition);
const ids = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`);
const fresh = (memberIds: string[]): MemberState[] => memberIds.map((memberId) => ({ memberId, owned: [] }));
/** Members that report exactly what they were given in `a`, at generation `g`. */
const fromAssignment = (a: Assignment, g = 1): MemberState[] =>
  [...a].map(([memberId, owned]) => ({ memberId, owned, generation: g }));
const sizes = (a: Assignment) => [...a.values()].map((l) => l.length);
const entries = (a: Assignment) => [...a.entries()];

/** Tiny seeded PRNG (mulberry32): reproducible random cases. */
function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const int = (rnd: () => number, n: number) => Math.floor(rnd() * n);
function shuffled<T>(xs: readonly T[], rnd: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = int(rnd, i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Every partition exactly once, only existing partitions, sizes within 1 of each other. */
function expectValid(a: Assignment, members: readonly MemberState[], partitions: readonly TopicPartition[]) {
  const memberIds = [...new Set(members.map((m) => m.memberId))].sort();
  expect([...a.keys()].sort()).toEqual(memberIds);
  const assigned = [...a.values()].flat().map(key);
  expect(new Set(assigned).size).toBe(assigned.length);
  expect(new Set(assigned)).toEqual(new Set(memberIds.length > 0 ? partitions.map(key) : []));
  if (memberIds.length > 0) {
    const s = sizes(a);
    expect(Math.max(...s) - Math.min(...s)).toBeLessThanOrEqual(1);
  }
}

/** Reference claim resolution (highest generation, then lowest memberId), written independently. */
function winners(members: readonly MemberState[], partitions: readonly TopicPartition[]): Map<string, string> {
  const exists = new Set(partitions.map(key));
  const best = new Map<string, { id: string; g: number }>();
  for (const m of members) {
    const g = m.generation ?? -1;
    for (const p of m.owned) {
      if (!exists.has(key(p))) continue;
      const cur = best.get(key(p));
      if (!cur || g > cur.g || (g === cur.g && m.memberId < cur.id)) best.set(key(p), { id: m.memberId, g });
    }
  }
  return new Map([...best].map(([k, v]) => [k, v.id]));
}

describe('stickyAssign: first assignment', () => {
  it.each<[number, number, number[]]>([
    [64, 3, [22, 21, 21]],
    [64, 4, [16, 16, 16, 16]],
    [10, 3, [4, 3, 3]],
    [1, 1, [1]],
    [7, 7, [1, 1, 1, 1, 1, 1, 1]],
  ])('%i partitions over %i fresh members → sizes %j', (p, m, expected) => {
    const members = fresh(ids(m));
    const parts = range(p);
    const a = stickyAssign(members, parts);
    expectValid(a, members, parts);
    expect(sizes(a)).toEqual(expected); // ceil slots go to the lowest memberIds when nobody owns anything
  });
});

describe('stickyAssign: joins and leaves move only what they must', () => {
  it.each<[number, number]>([
    [64, 3],
    [64, 1],
    [64, 7],
    [10, 3],
    [5, 8],
    [3, 2],
  ])('a member joins %i partitions held by %i balanced members', (p, m) => {
    const parts = range(p);
    const before = stickyAssign(fresh(ids(m)), parts);
    const members = [...fromAssignment(before), { memberId: 'zz-new', owned: [] }];
    const after = stickyAssign(members, parts);
    expectValid(after, members, parts);
    const moved = movedPartitions(before, after);
    // Only the newcomer's share moves, and every partition an old member still has is one it had.
    expect(moved).toBe(after.get('zz-new')!.length);
    expect(moved).toBeLessThanOrEqual(Math.ceil(p / (m + 1)));
    for (const [id, had] of before) expect(had.map(key)).toEqual(expect.arrayContaining(after.get(id)!.map(key)));
  });

  it('a 4th member joining 3 members holding 64 partitions moves 16 and nothing kept changes owner', () => {
    const parts = range(64);
    const before = stickyAssign(fresh(['a', 'b', 'c']), parts);
    expect(sizes(before)).toEqual([22, 21, 21]);
    const after = stickyAssign([...fromAssignment(before), { memberId: 'd', owned: [] }], parts);
    expect(sizes(after)).toEqual([16, 16, 16, 16]);
    expect(movedPartitions(before, after)).toBeLessThanOrEqual(16);
    for (const id of ['a', 'b', 'c']) for (const p of after.get(id)!) expect(nums(before.get(id))).toContain(p.partition);
  });

  it.each<[number, number, number]>([
    [64, 4, 0],
    [64, 4, 2],
    [64, 4, 3],
    [10, 3, 1],
    [5, 8, 4],
    [64, 2, 1],
  ])('of %i partitions over %i members, member #%i leaves: only its partitions move', (p, m, leaving) => {
    const parts = range(p);
    const before = stickyAssign(fresh(ids(m)), parts);
    const gone = `w${leaving}`;
    const members = fromAssignment(before).filter((s) => s.memberId !== gone);
    const after = stickyAssign(members, parts);
    expectValid(after, members, parts);
    expect(movedPartitions(before, after)).toBe(before.get(gone)!.length);
    for (const s of members) expect(after.get(s.memberId)!.map(key)).toEqual(expect.arrayContaining(s.owned.map(key)));
  });
});

describe('stickyAssign: claims', () => {
  it.each<[string, MemberState[], number, Record<string, number[]>]>([
    [
      'higher generation wins the contested partition',
      [
        { memberId: 'a', owned: [tp(0), tp(1)], generation: 2 },
        { memberId: 'b', owned: [tp(0)], generation: 5 },
      ],
      2,
      { a: [1], b: [0] },
    ],
    [
      'higher generation wins even against the lower memberId, and the loser does not keep it under quota',
      [
        { memberId: 'a', owned: [tp(0)], generation: 1 },
        { memberId: 'b', owned: [tp(0)], generation: 2 },
      ],
      4,
      { a: [1, 2], b: [0, 3] }, // the pool goes to whoever has fewest: a first, then a on the tie, then b
    ],
    [
      'equal generations: the lower memberId wins',
      [
        { memberId: 'b', owned: [tp(0), tp(1)], generation: 3 },
        { memberId: 'a', owned: [tp(0)], generation: 3 },
      ],
      2,
      { a: [0], b: [1] },
    ],
    [
      'a claim without generation loses to generation 0',
      [
        { memberId: 'a', owned: [tp(0)] },
        { memberId: 'b', owned: [tp(0)], generation: 0 },
      ],
      2,
      { a: [1], b: [0] },
    ],
    [
      'owned partitions that vanished are dropped, valid ones kept up to quota',
      [
        { memberId: 'a', owned: [tp(2), tp(3), tp(9), tp(12)], generation: 1 },
        { memberId: 'b', owned: [tp(40)], generation: 1 },
      ],
      4,
      { a: [2, 3], b: [0, 1] },
    ],
    [
      'over-quota owner gives up its excess (its last partitions) to the member with fewest',
      [
        { memberId: 'a', owned: range(6), generation: 1 },
        { memberId: 'b', owned: [], generation: 1 },
        { memberId: 'c', owned: [tp(6)], generation: 1 },
      ],
      7,
      { a: [0, 1, 2], b: [3, 4], c: [5, 6] },
    ],
    [
      'more members than partitions: owners keep theirs, the rest get none',
      [
        { memberId: 'a', owned: [] },
        { memberId: 'b', owned: [] },
        { memberId: 'c', owned: [tp(2)], generation: 1 },
        { memberId: 'd', owned: [] },
        { memberId: 'e', owned: [tp(0)], generation: 1 },
      ],
      3,
      { a: [1], b: [], c: [2], d: [], e: [0] },
    ],
    [
      'the same member listed twice counts once',
      [
        { memberId: 'a', owned: [tp(0)], generation: 1 },
        { memberId: 'a', owned: [tp(1)], generation: 1 },
        { memberId: 'b', owned: [] },
      ],
      2,
      { a: [0], b: [1] },
    ],
  ])('%s', (_, members, p, expected) => {
    const parts = range(p);
    const a = stickyAssign(members, parts);
    expectValid(a, members, parts);
    expect(Object.fromEntries([...a].map(([id, l]) => [id, nums(l)]))).toEqual(expected);
  });

  it('balances the total over several topics, not per topic', () => {
    const parts = [...range(3, 'x'), ...range(1, 'y')];
    const members: MemberState[] = [
      { memberId: 'a', owned: range(3, 'x'), generation: 1 },
      { memberId: 'b', owned: [], generation: 1 },
    ];
    const a = stickyAssign(members, parts);
    expectValid(a, members, parts);
    expect(a.get('a')!.map(key)).toEqual(['x/0', 'x/1']);
    expect(a.get('b')!.map(key)).toEqual(['x/2', 'y/0']);
  });
});

describe('stickyAssign: edge cases and determinism', () => {
  it('zero members → empty map', () => {
    expect(stickyAssign([], range(5)).size).toBe(0);
  });

  it('zero partitions → every member gets an empty list', () => {
    const a = stickyAssign([{ memberId: 'b', owned: [tp(1)], generation: 4 }, { memberId: 'a', owned: [] }], []);
    expect(entries(a)).toEqual([
      ['a', []],
      ['b', []],
    ]);
  });

  it('more members than partitions: some get none, each partition once', () => {
    const members = fresh(ids(9));
    const a = stickyAssign(members, range(4));
    expectValid(a, members, range(4));
    expect(sizes(a).filter((n) => n === 1)).toHaveLength(4);
    expect(sizes(a).filter((n) => n === 0)).toHaveLength(5);
  });

  it('duplicate partitions in the input are assigned once', () => {
    const a = stickyAssign(fresh(['a', 'b']), [tp(0), tp(1), tp(0), tp(1)]);
    expect(entries(a).map(([id, l]) => [id, nums(l)])).toEqual([
      ['a', [0]],
      ['b', [1]],
    ]);
  });

  it.each([1, 2, 3, 4, 5])('shuffled member, owned and partition order gives an identical result (seed %i)', (seed) => {
    const rnd = mulberry32(seed);
    const parts = [...range(20, 'a'), ...range(13, 'b')];
    const members: MemberState[] = ids(5).map((memberId, i) => ({
      memberId,
      owned: parts.filter(() => rnd() < 0.3),
      generation: i % 3,
    }));
    const ref = stickyAssign(members, parts);
    for (let k = 0; k < 10; k++) {
      const m2 = shuffled(members, rnd).map((m) => ({ ...m, owned: shuffled(m.owned, rnd) }));
      expect(entries(stickyAssign(m2, shuffled(parts, rnd)))).toEqual(entries(ref));
    }
  });

  it('does not mutate its input', () => {
    const members: MemberState[] = [{ memberId: 'a', owned: [tp(3), tp(1)], generation: 1 }];
    const parts = [tp(2), tp(1), tp(3)];
    const snapshot = JSON.stringify([members, parts]);
    stickyAssign(members, parts);
    expect(JSON.stringify([members, parts])).toBe(snapshot);
  });
});

describe('stickyAssign: randomized properties', () => {
  it.each(Array.from({ length: 20 }, (_, i) => i * 25))('seeds %i…+24', (first) => {
    for (let seed = first; seed < first + 25; seed++) {
      const rnd = mulberry32(seed);
      const topics = ['t0', 't1', 't2'].slice(0, 1 + int(rnd, 3));
      const parts = topics.flatMap((t) => range(int(rnd, 30), t));
      // Some claims are on partitions that no longer exist (up to 35 per topic).
      const claimable = topics.flatMap((t) => range(35, t));
      const members: MemberState[] = Array.from({ length: int(rnd, 9) }, (_, i) => ({
        memberId: `m${int(rnd, 1000)}-${i}`,
        owned: claimable.filter(() => rnd() < 0.25),
        ...(rnd() < 0.8 ? { generation: int(rnd, 4) } : {}),
      }));
      const a = stickyAssign(members, parts);
      expectValid(a, members, parts);

      // Nobody loses a partition it rightfully owned while it is still under its quota.
      const win = winners(members, parts);
      for (const [id, list] of a) {
        const rightful = new Set([...win].filter(([, w]) => w === id).map(([k]) => k));
        const kept = list.filter((p) => rightful.has(key(p))).length;
        expect(kept, `seed ${seed}, member ${id}`).toBeGreaterThanOrEqual(Math.min(rightful.size, list.length));
      }
      // Order-independent.
      const m2 = shuffled(members, rnd).map((m) => ({ ...m, owned: shuffled(m.owned, rnd) }));
      expect(entries(stickyAssign(m2, shuffled(parts, rnd)))).toEqual(entries(a));
      // Re-running on its own output moves nothing (a stable group stays put).
      expect(movedPartitions(a, stickyAssign(fromAssignment(a, 9), parts))).toBe(0);
    }
  });
});

describe('movedPartitions', () => {
  const A = (o: Record<string, number[]>): Assignment => new Map(Object.entries(o).map(([id, l]) => [id, l.map((n) => tp(n))]));
  it.each<[string, Assignment, Assignment, number]>([
    ['identical', A({ a: [0, 1], b: [2] }), A({ a: [0, 1], b: [2] }), 0],
    ['one partition changes owner', A({ a: [0, 1], b: [2] }), A({ a: [0], b: [1, 2] }), 1],
    ['a member leaves', A({ a: [0, 1], b: [2] }), A({ b: [0, 1, 2] }), 2],
    ['new and deleted partitions do not count', A({ a: [0, 1], b: [2] }), A({ a: [0, 5], b: [] }), 0],
    ['empty before', A({}), A({ a: [0, 1] }), 0],
  ])('%s → %i', (_, before, after, n) => {
    expect(movedPartitions(before, after)).toBe(n);
  });
});

describe('userData codec', () => {
  it('encodes as small, sorted, versioned JSON', () => {
    const buf = encodeUserData([tp(7), tp(0), tp(5), tp(5), tp(1, 'b-topic')], 3);
    expect(buf.toString('utf8')).toBe('{"v":1,"g":3,"o":{"b-topic":[1],"cams":[0,5,7]}}');
  });

  it.each<[string, TopicPartition[], number]>([
    ['nothing owned', [], 0],
    ['one topic', [tp(3), tp(1), tp(2)], 7],
    ['several topics', [tp(0, 'x'), tp(4, 'y'), tp(1, 'x')], 12],
    ['generation -1', [tp(0)], -1],
  ])('round-trips %s', (_, owned, generation) => {
    const decoded = decodeUserData(encodeUserData(owned, generation));
    expect(decoded.generation).toBe(generation);
    expect(decoded.owned.map(key).sort()).toEqual(owned.map(key).sort());
  });

  it.each<[string, Buffer | null | undefined]>([
    ['null', null],
    ['undefined', undefined],
    ['empty buffer', Buffer.alloc(0)],
    ['not JSON', Buffer.from('hello')],
    ['binary garbage', Buffer.from([0xff, 0x00, 0x7b, 0x13])],
    ['JSON null', Buffer.from('null')],
    ['JSON array', Buffer.from('[1,2]')],
    ['JSON number', Buffer.from('42')],
    ['unknown version', Buffer.from('{"v":2,"g":3,"o":{"t":[0]}}')],
    ['missing version', Buffer.from('{"g":3,"o":{"t":[0]}}')],
    ['generation missing', Buffer.from('{"v":1,"o":{"t":[0]}}')],
    ['generation a string', Buffer.from('{"v":1,"g":"3","o":{"t":[0]}}')],
    ['generation fractional', Buffer.from('{"v":1,"g":1.5,"o":{"t":[0]}}')],
    ['owned missing', Buffer.from('{"v":1,"g":3}')],
    ['owned an array', Buffer.from('{"v":1,"g":3,"o":[0,1]}')],
    ['partitions not an array', Buffer.from('{"v":1,"g":3,"o":{"t":0}}')],
    ['negative partition', Buffer.from('{"v":1,"g":3,"o":{"t":[0,-1]}}')],
    ['fractional partition', Buffer.from('{"v":1,"g":3,"o":{"t":[0.5]}}')],
    ['string partition', Buffer.from('{"v":1,"g":3,"o":{"t":["0"]}}')],
    ['truncated', Buffer.from('{"v":1,"g":3,"o":{"t":[0,')],
  ])('garbage (%s) decodes to owning nothing', (_, buf) => {
    expect(decodeUserData(buf)).toEqual({ owned: [], generation: -1 });
  });

  it('a member with garbage userData keeps nothing in the assignment', () => {
    const good = { memberId: 'b', ...decodeUserData(encodeUserData([tp(0), tp(1)], 2)) };
    const bad = { memberId: 'a', ...decodeUserData(Buffer.from('{oops')) };
    const a = stickyAssign([bad, good], range(4));
    expect(nums(a.get('b'))).toEqual([0, 1]);
    expect(nums(a.get('a'))).toEqual([2, 3]);
  });

  it('rejects what it could not decode back', () => {
    expect(() => encodeUserData([tp(-1)], 1)).toThrow(RangeError);
    expect(() => encodeUserData([tp(0)], Number.NaN)).toThrow(RangeError);
  });
});
