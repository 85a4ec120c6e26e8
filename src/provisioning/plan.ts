/**
 * The plan: what one node must have and run, decided by the server from the
 * cluster's registered nodes, and carried out by that node's agent. Both sides
 * import these types, so the contract lives once.
 *
 * Paths are relative to the node's data dir (the agent runs every process there),
 * so a plan says nothing about where the operator put the data dir. Kubeconfigs
 * carry their certificates inline for the same reason.
 */
import { InvalidArgumentError } from '../errors/index.ts';
import { nodeRoleNames, type NodeRole } from '../agent-protocol/index.ts';
import type { BinaryName } from './binaries.ts';

/** The roles are the node command's (agent-protocol), so the command and the plan cannot disagree. */
export const roleNames = nodeRoleNames;
export type Role = NodeRole;

/** The ports a node agent picked for its processes (kept in its data dir across restarts). */
export interface NodePorts {
  etcdClient: number;
  etcdPeer: number;
  apiServer: number;
  kubeApiAuth: number;
  controllerManager: number;
  scheduler: number;
}

export const portNames: ReadonlyArray<keyof NodePorts> = ['etcdClient', 'etcdPeer', 'apiServer', 'kubeApiAuth', 'controllerManager', 'scheduler'];

/** What a node agent says about itself when it registers. */
export interface NodeRegistration {
  name: string;
  /** Random, kept in the data dir: a restart keeps it, a second machine claiming the name has another. */
  nodeId: string;
  roles: Role[];
  /** The address other nodes and direct (ACE) clients reach this node at. */
  address: string;
  ports: NodePorts;
  /** The cluster this node's data dir already belongs to, if any: another cluster's token is refused. */
  clusterId?: string;
}

/** How the agent decides a process is up. */
export type HealthCheck =
  | { kind: 'https'; url: string; caFile?: string; certFile?: string; keyFile?: string; insecure?: boolean }
  | { kind: 'http'; url: string }
  | { kind: 'running' };

export interface PlannedProcess {
  /** Also the step name in progress reports and the log file name (`log/<name>.log`). */
  name: string;
  /** A planned binary, or `drover` (the node agent's own program, for kube-api-auth). */
  binary: BinaryName | 'drover';
  args: string[];
  health: HealthCheck;
}

export interface PlannedFile {
  path: string;
  content: string;
  /** Octal file mode; keys are 0600. */
  mode: number;
}

export interface NodePlan {
  clusterId: string;
  nodeName: string;
  /** Digest of the plan's inputs: the agent re-runs the plan only when it changes. */
  id: string;
  version: string;
  binaries: Array<{ name: BinaryName; sha256: string }>;
  files: PlannedFile[];
  /** In start order; each must pass its health check before the next starts. */
  processes: PlannedProcess[];
  /**
   * A restore the admin asked for (`clusters snapshots restore`), on etcd nodes:
   * before starting etcd, the node replaces its etcd data with the snapshot, once
   * per restore id. Other nodes get no `restore`, but their plan id changes with
   * it, so they restart their processes against the restored etcd.
   */
  restore?: PlannedRestore;
  /**
   * On an etcd node other than the cluster's seed: join the running etcd cluster
   * (etcd-membership.ts) before etcd first starts. Absent on the seed, which starts
   * a new cluster of itself.
   */
  etcdJoin?: EtcdJoin;
  /**
   * On etcd nodes: the peer URLs of registered nodes without the etcd role. Once its own
   * member is healthy, the node removes any of them from etcd's members (a node that
   * left the etcd role), so the quorum counts only members that can run.
   */
  etcdFormerMembers?: string[];
  /** On control-plane nodes: what the node agent reports for its tunnel (kube-apiserver as it dials it, and the admin kubeconfig). */
  tunnel?: { apiServer: string; kubeconfig: string };
}

/** How a new etcd member joins: its own name and peer URL, and where to find the members already running. */
export interface EtcdJoin {
  name: string;
  peerUrl: string;
  /** Client URLs of the cluster's other etcd nodes; any running member can add this one. */
  clientUrls: string[];
}

/** What the server keeps for a restore it was asked for (and hands etcd nodes in their plan). */
export interface RestoreRequest {
  /** New for each request: a node restores once per id. */
  id: string;
  snapshotId: string;
  sha256: string;
  size: number;
  requestedAt: string;
}

export interface PlannedRestore extends RestoreRequest {
  /** `etcdutl snapshot restore FILE --data-dir DIR` takes these after: this member's name, peers and cluster token. */
  args: string[];
}

/**
 * The route the server calls on a node agent's tunnel session when the node's plan
 * changed (a restore): the node asks for its plan at once instead of at its next
 * 10 s check. It carries nothing; the plan itself still comes over HTTPS.
 */
export const planChangedRoute = { method: 'POST', path: '/v1/plan/changed' } as const;

/** The server's answer to a plan request: a plan, or why there is none yet. */
export type PlanAnswer = { kind: 'plan'; plan: NodePlan } | { kind: 'wait'; reason: string };

export type StepState = 'running' | 'done' | 'failed';

export interface StepProgress {
  step: string;
  state: StepState;
  message?: string;
  at: string;
}

/** What a node agent reports, and `drover clusters get` shows per node. */
export interface NodeProgress {
  planId?: string;
  /** How many steps the plan has: the plan is carried out when as many steps are done. */
  total?: number;
  /** The current plan's steps only (a new plan starts a new list). */
  steps: StepProgress[];
}

export function parseRoles(text: string): Role[] {
  const roles = [...new Set(text.split(',').map((r) => r.trim()).filter(Boolean))];
  const unknown = roles.filter((r) => !(roleNames as readonly string[]).includes(r));
  if (roles.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError('--roles', `a comma-separated subset of ${roleNames.join(',')}`, text);
  }
  return roles as Role[];
}
