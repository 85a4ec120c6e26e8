/**
 * agent-protocol/: what the agent and the server say to each other besides
 * tunnelled bytes (connect headers, the cluster-info and goodbye routes, the node
 * command, the order of the Kubernetes versions nodes run, when a silent node counts
 * as unreachable, the agent's account in each cluster); both sides, and the CLI and web UI that show them, import this
 * folder, so the contract lives once.
 */
export { agentHeaders, clusterInfoRoute, goodbyeRoute, parseClusterInfo, parseGoodbye, routeKey, tunnelConnectPath, type ClusterInfo, type Goodbye } from './agent-protocol.ts';
export { nodeCommand, nodeRoleNames, type NodeJoin, type NodeRole } from './node-command.ts';
export { compareVersions, upgradeStep } from './kubernetes-version.ts';
export { nodeSilentLimitSeconds, nodeUnreachable } from './node-liveness.ts';
export { agentAccountObjects, agentNamespace, agentObjectMeta, agentServiceAccount, managedByLabel } from './agent-account.ts';
