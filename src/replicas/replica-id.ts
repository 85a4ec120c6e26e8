/** Replica ids: `r-` and 10 random base32 characters, new for every process start (a restarted replica is a new one). */
import { randomBytes } from 'node:crypto';

const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';

export function newReplicaId(): string {
  return `r-${[...randomBytes(10)].map((b) => alphabet[b % 32] ?? 'a').join('')}`;
}

/** Admitted agent sessions per cluster. */
export function sessionsByCluster(sessions: ReadonlyArray<{ identity: { clusterId: string } }>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of sessions) counts.set(s.identity.clusterId, (counts.get(s.identity.clusterId) ?? 0) + 1);
  return counts;
}
