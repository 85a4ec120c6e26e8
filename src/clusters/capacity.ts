/**
 * Summing node capacity for the cluster's status. Kubernetes quantities carry
 * binary (Ki, Mi, Gi...) or decimal (k, M, G... and m for milli) suffixes.
 */
import type { Node } from '../kube/index.ts';

const suffixes: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A quantity as a plain number (cores, bytes, pods); NaN when it cannot be read. */
export function parseQuantity(value: string): number {
  const match = /^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(value.trim());
  const factor = match ? suffixes[match[2] ?? ''] : undefined;
  return match && factor !== undefined ? Number(match[1]) * factor : Number.NaN;
}

export interface ClusterCapacity { cpu: string; memory: string; pods: string }

/** Total capacity over the nodes: cores, memory in Gi, and pods. */
export function totalCapacity(nodes: readonly Node[]): ClusterCapacity {
  let cpu = 0;
  let memory = 0;
  let pods = 0;
  for (const node of nodes) {
    const capacity = node.status?.capacity ?? {};
    cpu += parseQuantity(capacity.cpu ?? '0') || 0;
    memory += parseQuantity(capacity.memory ?? '0') || 0;
    pods += parseQuantity(capacity.pods ?? '0') || 0;
  }
  return {
    cpu: String(Math.round(cpu * 1000) / 1000),
    memory: `${Math.round((memory / 2 ** 30) * 10) / 10}Gi`,
    pods: String(pods),
  };
}
