/**
 * The pure core of the sticky assigner for the worker group on the camera registry topic (issue 13).
 *
 * Each worker runs the cameras of the registry partitions it holds, so a partition that changes owner is a
 * camera that restarts: its ffmpeg is torn down and started again elsewhere, and the detector loses the
 * background model and track history it had built up. That is why a join or a leave must move only the
 * partitions it has to, and why a worker keeps what it had whenever balance allows it.
 *
 * kafkajs rebalances eagerly: every member gives up everything at a rebalance and is then handed a complete new
 * assignment. Nothing tells a worker which cameras it actually lost or gained, so the worker has to compare its
 * old and new assignment itself and restart only the difference. This module only decides who gets what (and
 * carries what a member held in its userData); it is deterministic so that every run of the leader's `assign`
 * on the same group gives the same answer, whatever order the broker lists members and partitions in.
 */

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** What a member says it held (from its userData). */
export interface MemberState {
  memberId: string;
  owned: ReadonlyArray<TopicPartition>;
  /**
   * The group generation in which it held them. After a network split or with stale userData two members can
   * claim the same partition: the newer claim is the one that reflects what actually runs. Absent = -1.
   */
  generation?: number;
}

export type Assignment = Map<string, Array<TopicPartition>>;

// Plain code-unit order, not localeCompare: the result must not depend on the host's locale.
const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const cmpTp = (a: TopicPartition, b: TopicPartition): number => cmpStr(a.topic, b.topic) || a.partition - b.partition;
// Kafka topic names cannot contain NUL, so this key cannot collide.
const keyOf = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;
const genOf = (g: number | undefined): number => (g !== undefined && Number.isFinite(g) ? g : -1);

/**
 * Assigns every partition to exactly one member, each member getting floor(P/M) or ceil(P/M) partitions in
 * total, while keeping as many partitions as possible with the member that owned them.
 *
 * - A partition claimed by several members belongs to the claim with the highest generation (ties: the lowest
 *   memberId); the losers do not keep it, even when under quota, since only one of them can really run it.
 * - The ceil quotas go to the members that own the most, so that the extra slot saves a move instead of
 *   being filled from the pool (ties: lowest memberId).
 * - A member keeps its owned partitions up to its quota (the first ones in topic/partition order). Partitions
 *   of departed members, unowned ones and the excess of over-quota members go, in topic/partition order, to
 *   the member with the fewest partitions that is still under quota (ties: lowest memberId).
 * - Owned partitions that no longer exist are dropped. Duplicate memberIds are treated as one member.
 */
export function stickyAssign(
  members: readonly MemberState[],
  partitions: ReadonlyArray<TopicPartition>,
): Assignment {
  const ids = [...new Set(members.map((m) => m.memberId))].sort(cmpStr);
  const result: Assignment = new Map(ids.map((id) => [id, []]));
  if (ids.length === 0) return result;

  const existing = new Map<string, TopicPartition>();
  for (const p of partitions) existing.set(keyOf(p), { topic: p.topic, partition: p.partition });
  const all = [...existing.values()].sort(cmpTp);

  // Resolve claims: the order of members and of their owned lists cannot change the winner.
  const winner = new Map<string, { memberId: string; generation: number }>();
  for (const m of members) {
    const generation = genOf(m.generation);
    for (const tp of m.owned) {
      const k = keyOf(tp);
      if (!existing.has(k)) continue;
      const cur = winner.get(k);
      if (!cur || generation > cur.generation || (generation === cur.generation && m.memberId < cur.memberId)) {
        winner.set(k, { memberId: m.memberId, generation });
      }
    }
  }
  const won = new Map<string, TopicPartition[]>(ids.map((id) => [id, []]));
  const pool: TopicPartition[] = [];
  for (const tp of all) {
    const w = winner.get(keyOf(tp));
    if (w) won.get(w.memberId)!.push(tp);
    else pool.push(tp);
  }

  const base = Math.floor(all.length / ids.length);
  const extra = all.length % ids.length;
  const quota = new Map<string, number>(ids.map((id) => [id, base]));
  [...ids]
    .sort((a, b) => won.get(b)!.length - won.get(a)!.length || cmpStr(a, b))
    .slice(0, extra)
    .forEach((id) => quota.set(id, base + 1));

  for (const id of ids) {
    const mine = won.get(id)!;
    const q = quota.get(id)!;
    result.set(id, mine.slice(0, q));
    pool.push(...mine.slice(q));
  }

  // Quotas add up to P, so every pooled partition finds a member under quota.
  for (const tp of pool.sort(cmpTp)) {
    let best: string | undefined;
    for (const id of ids) {
      const n = result.get(id)!.length;
      if (n < quota.get(id)! && (best === undefined || n < result.get(best)!.length)) best = id;
    }
    result.get(best!)!.push(tp);
  }
  for (const list of result.values()) list.sort(cmpTp);
  return result;
}

/**
 * How many partitions changed owner between two assignments: the cameras that restarted. Partitions that
 * appear only in one of them (created or deleted) did not move and are not counted.
 */
export function movedPartitions(
  before: ReadonlyMap<string, ReadonlyArray<TopicPartition>>,
  after: ReadonlyMap<string, ReadonlyArray<TopicPartition>>,
): number {
  const owner = new Map<string, string>();
  for (const [id, list] of before) for (const tp of list) owner.set(keyOf(tp), id);
  let moved = 0;
  for (const [id, list] of after) {
    for (const tp of list) {
      const prev = owner.get(keyOf(tp));
      if (prev !== undefined && prev !== id) moved++;
    }
  }
  return moved;
}

const USERDATA_VERSION = 1;
const NOTHING = (): { owned: TopicPartition[]; generation: number } => ({ owned: [], generation: -1 });
const isPartition = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/**
 * The userData a member sends with its join: what it holds and since which generation, as
 * `{"v":1,"g":3,"o":{"topic":[0,5,7]}}` (topics and partitions sorted, duplicates dropped). Throws on
 * partitions that are not non-negative integers: decoding would drop the whole claim, silently costing
 * stickiness, so the bug should show where it is made.
 */
export function encodeUserData(owned: ReadonlyArray<TopicPartition>, generation: number): Buffer {
  if (!Number.isSafeInteger(generation)) throw new RangeError(`generation must be an integer, got ${generation}`);
  const byTopic = new Map<string, Set<number>>();
  for (const { topic, partition } of owned) {
    if (!isPartition(partition)) throw new RangeError(`bad partition ${topic}/${partition}`);
    let set = byTopic.get(topic);
    if (!set) byTopic.set(topic, (set = new Set()));
    set.add(partition);
  }
  const o: Record<string, number[]> = {};
  for (const topic of [...byTopic.keys()].sort(cmpStr)) o[topic] = [...byTopic.get(topic)!].sort((a, b) => a - b);
  return Buffer.from(JSON.stringify({ v: USERDATA_VERSION, g: generation, o }), 'utf8');
}

/**
 * Never throws: a member whose userData is empty, malformed or of another version is treated as owning
 * nothing (generation -1). That costs at most its stickiness for one rebalance; a throw would break the
 * leader's assign and with it the whole group.
 */
export function decodeUserData(buf: Buffer | null | undefined): { owned: TopicPartition[]; generation: number } {
  if (!buf || buf.length === 0) return NOTHING();
  let data: unknown;
  try {
    data = JSON.parse(buf.toString('utf8'));
  } catch {
    return NOTHING();
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return NOTHING();
  const { v, g, o } = data as Record<string, unknown>;
  if (v !== USERDATA_VERSION || !Number.isSafeInteger(g)) return NOTHING();
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return NOTHING();
  const seen = new Set<string>();
  const owned: TopicPartition[] = [];
  for (const [topic, list] of Object.entries(o)) {
    if (!Array.isArray(list) || !list.every(isPartition)) return NOTHING();
    for (const partition of list) {
      const tp = { topic, partition };
      if (seen.has(keyOf(tp))) continue;
      seen.add(keyOf(tp));
      owned.push(tp);
    }
  }
  return { owned: owned.sort(cmpTp), generation: g as number };
}
