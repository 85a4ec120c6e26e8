/**
 * agent/: `drover agent`, the process inside (or beside) each downstream cluster.
 * It dials out to the server, trusts it only once its CA matches the pinned
 * checksum, holds the tunnel, and dials nothing but the kube-apiserver address it
 * reported; agent.ts holds the design note.
 */
export { Agent, type AgentOptions, type AgentStop } from './agent.ts';
