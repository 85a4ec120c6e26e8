/**
 * The decisions of a Kubernetes upgrade of a provisioned cluster, pure so they are
 * tested without nodes: what is refused up front, the order nodes go in, which
 * version (and plan attempt) each node plans at, and how a node's progress report
 * reads (still going, failed, or done with its step times).
 *
 * Order: etcd nodes first (kube-apiserver may be newer than etcd, never the other
 * way round), then control-plane nodes one at a time (an apiserver one minor newer
 * than the controllers is allowed by Kubernetes' version skew policy, the reverse
 * is not), then workers (a kubelet may be older than the apiserver, not newer).
 */
import { DroverError } from '../errors/index.ts';
import { upgradeStep } from '../agent-protocol/index.ts';
import type { NodeProgress, NodeRegistration, Role } from './plan.ts';

export type UpgradeNodeState = 'waiting' | 'upgrading' | 'done' | 'failed';

export interface UpgradeNode {
  name: string;
  roles: Role[];
  state: UpgradeNodeState;
  /** Set when a failed node is tried again: part of its plan id, so the node agent carries its plan out anew. */
  attempt?: string;
  startedAt?: string;
  doneAt?: string;
  /** Why it failed; or, once done, what the server checked. */
  message?: string;
  /** Seconds per step of the node's new plan (stopping the old processes, binaries, files, each process). */
  steps?: Array<{ step: string; seconds: number }>;
}

export interface ClusterUpgrade {
  from: string;
  to: string;
  state: 'running' | 'failed' | 'done';
  startedAt: string;
  finishedAt?: string;
  /** The first failure, with its node: the upgrade stops there until it is asked for again. */
  failure?: string;
  nodes: UpgradeNode[];
}

export interface UpgradeRequest {
  cluster: { name: string; state: string };
  /** The cluster's version; undefined for a cluster Drover did not provision. */
  current: string | undefined;
  target: string;
  /** The versions the server has binaries for. */
  offered: string[];
  last: ClusterUpgrade | undefined;
}

/**
 * What to do with `clusters upgrade NAME --kubernetes-version V`: start a new
 * upgrade, resume the failed one to the same version (re-run after a failure),
 * or nothing (one to V is running already). Everything else is refused with why.
 */
export function upgradeAction(request: UpgradeRequest): 'start' | 'resume' | 'running' {
  const { cluster, current, target, last } = request;
  if (current === undefined) {
    throw new DroverError('DRV_ERR_BAD_REQUEST', `cluster "${cluster.name}" was imported, not provisioned by Drover: upgrade it where it was built; Drover upgrades only clusters made with "drover clusters create NAME --custom"`);
  }
  if (!request.offered.includes(target)) {
    throw new DroverError('DRV_ERR_INVALID_ARGUMENT', `unknown Kubernetes version "${target.slice(0, 60)}": this server offers ${request.offered.join(', ') || 'none'} (see "The binaries directory" in docs/provisioning.md to add one)`);
  }
  if (last?.state === 'running') {
    if (last.to === target) return 'running';
    throw new DroverError('DRV_ERR_CONFLICT', `cluster "${cluster.name}" is being upgraded to ${last.to} already: wait for it ("drover clusters get ${cluster.name}"), then upgrade again`);
  }
  if (last?.state === 'failed') {
    if (last.to === target) return 'resume';
    throw new DroverError('DRV_ERR_CONFLICT', `the upgrade of cluster "${cluster.name}" to ${last.to} failed (${last.failure ?? 'no reason recorded'}) and some nodes may run ${last.to}: `
      + `fix the cause and run "drover clusters upgrade ${cluster.name} --kubernetes-version ${last.to}" again to finish it first`);
  }
  const step = upgradeStep(current, target);
  if (step === 'downgrade') {
    throw new DroverError('DRV_ERR_INVALID_ARGUMENT', `cluster "${cluster.name}" runs Kubernetes ${current}, so ${target} would be a downgrade, which Kubernetes does not support: `
      + 'kube-apiserver may already have written objects to etcd in a storage version the older release cannot read. To go back, restore an etcd snapshot taken before the upgrade onto a new cluster at the older version');
  }
  if (step === 'same') {
    throw new DroverError('DRV_ERR_INVALID_ARGUMENT', `cluster "${cluster.name}" runs Kubernetes ${current} already: name a newer version (this server offers ${request.offered.join(', ')})`);
  }
  if (step === 'skips a minor release') {
    throw new DroverError('DRV_ERR_INVALID_ARGUMENT', `cluster "${cluster.name}" runs Kubernetes ${current}, and ${target} skips a minor release, which Kubernetes does not support `
      + '(its kube-apiservers may differ by one minor release while the upgrade rolls through them): upgrade to the next minor release first, then to this one');
  }
  if (cluster.state !== 'active') {
    throw new DroverError('DRV_ERR_CONFLICT', `cluster "${cluster.name}" is ${cluster.state}, not active: an upgrade restarts its nodes one by one and needs a healthy cluster to start from; `
      + `wait until "drover clusters get ${cluster.name}" shows it active`);
  }
  return 'start';
}

/** etcd nodes, then control-plane nodes, then workers; by name within each group. A node is upgraded once, in the group of its first role. */
export function upgradeOrder(nodes: readonly NodeRegistration[]): NodeRegistration[] {
  const rank = (n: NodeRegistration): number => (n.roles.includes('etcd') ? 0 : n.roles.includes('controlplane') ? 1 : 2);
  return [...nodes].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

export function newUpgrade(from: string, to: string, nodes: readonly NodeRegistration[], now: string): ClusterUpgrade {
  return { from, to, state: 'running', startedAt: now, nodes: upgradeOrder(nodes).map((n) => ({ name: n.name, roles: n.roles, state: 'waiting' })) };
}

/** A failed upgrade asked for again: the failed node starts over with a new plan attempt; nodes done stay done. */
export function resumeUpgrade(upgrade: ClusterUpgrade, attempt: string): ClusterUpgrade {
  const { failure: _failure, finishedAt: _finished, ...rest } = upgrade;
  return {
    ...rest, state: 'running',
    nodes: upgrade.nodes.map((n) => (n.state === 'failed' ? { name: n.name, roles: n.roles, state: 'waiting', attempt } : n)),
  };
}

/** The version a node plans at: the upgrade's target once the upgrade reached it, else the cluster's. */
export function nodeTarget(upgrade: ClusterUpgrade | undefined, nodeName: string, clusterVersion: string): { version: string; attempt?: string } {
  const node = upgrade?.nodes.find((n) => n.name === nodeName);
  if (!upgrade || !node || node.state === 'waiting') return { version: clusterVersion };
  return { version: upgrade.to, ...(node.attempt ? { attempt: node.attempt } : {}) };
}

export type NodeReport =
  | { kind: 'pending' }
  | { kind: 'failed'; reason: string }
  | { kind: 'done'; steps: Array<{ step: string; seconds: number }> };

/**
 * How far a node is with the plan `planId`: pending until it reports that plan
 * with every step done; failed at its first failed step. Step times come from the
 * node's new plan (`since`, when the server gave it) and the
 * report's timestamps (each step's end minus the previous step's end; the step
 * that stopped the old processes says in its message how long that took).
 */
export function readReport(progress: NodeProgress, planId: string, since?: string): NodeReport {
  if (progress.planId !== planId) return { kind: 'pending' };
  const failed = progress.steps.find((s) => s.state === 'failed');
  if (failed) return { kind: 'failed', reason: `step ${failed.step} failed: ${failed.message ?? 'no reason given'}` };
  if (progress.total === undefined || progress.steps.length < progress.total || !progress.steps.every((s) => s.state === 'done')) return { kind: 'pending' };
  const steps: Array<{ step: string; seconds: number }> = [];
  // From the server's new plan to the node agent asking for it (at once when told over its tunnel, else within 10 s).
  const first = progress.steps[0];
  if (since !== undefined && first) steps.push({ step: 'plan', seconds: Math.max(0, (Date.parse(first.at) - Date.parse(since)) / 1000) });
  for (let i = 1; i < progress.steps.length; i++) {
    const [before, step] = [progress.steps[i - 1], progress.steps[i]];
    if (!before || !step) continue;
    const seconds = (Date.parse(step.at) - Date.parse(before.at)) / 1000;
    // The step that stopped the old processes says how long that took: shown on its own.
    const stop = Number(/stopped in ([\d.]+) s/.exec(step.message ?? '')?.[1] ?? 0);
    if (stop > 0) steps.push({ step: 'stop', seconds: stop });
    steps.push({ step: step.step, seconds: Math.max(0, seconds - stop) });
  }
  return { kind: 'done', steps };
}
