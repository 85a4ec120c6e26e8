/**
 * Splits a binding's subjects into shards so one RoleBinding or
 * ClusterRoleBinding never grows past `maxPerShard` subjects (etcd refuses
 * objects over 1.5 MiB; large objects also make every update expensive).
 *
 * A subject's shard is `hash(subject) mod B`, where B is the smallest power of two
 * that keeps every shard within the limit. Doubling B only moves subjects from
 * shard i to shard i + B/2, so growth rewrites few objects, and the same input
 * always gives the same shards (level-based reconciling needs that).
 */
import { createHash } from 'node:crypto';
import type { RbacSubject } from '../downstream/index.ts';

const subjectKey = (s: RbacSubject): string => `${s.kind}\u0000${s.namespace ?? ''}\u0000${s.name}`;
const subjectHash = (s: RbacSubject): number => createHash('sha256').update(subjectKey(s)).digest().readUInt32BE(0);

/** Sorted, de-duplicated subjects. */
export function uniqueSubjects(subjects: readonly RbacSubject[]): RbacSubject[] {
  const byKey = new Map(subjects.map((s) => [subjectKey(s), s]));
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
}

/** Non-empty shards keyed by shard index; each holds at most `maxPerShard` subjects, sorted. */
export function shardSubjects(subjects: readonly RbacSubject[], maxPerShard: number): Map<number, RbacSubject[]> {
  const unique = uniqueSubjects(subjects);
  const hashes = unique.map(subjectHash);
  let buckets = 1;
  while (buckets < unique.length / maxPerShard) buckets *= 2;
  for (;;) {
    const shards = new Map<number, RbacSubject[]>();
    unique.forEach((s, i) => {
      const index = (hashes[i] ?? 0) % buckets;
      const shard = shards.get(index) ?? [];
      shard.push(s);
      shards.set(index, shard);
    });
    // The cap only matters for a 32-bit hash collision among more than maxPerShard subjects.
    const fits = [...shards.values()].every((shard) => shard.length <= maxPerShard);
    if (fits || buckets >= 2 ** 24) return new Map([...shards].sort(([a], [b]) => a - b));
    buckets *= 2;
  }
}
