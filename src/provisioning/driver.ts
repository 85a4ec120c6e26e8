/**
 * The driver interface: what Drover asks of an engine that builds clusters. The
 * custom engine (nodes the user runs, custom-driver.ts) is the first; hosted
 * engines (GKE, EKS, AKS) would be further drivers, each keeping its own state and
 * credentials, and reached through the same four calls. docs/provisioning.md
 * describes the contract.
 */
import type { Cluster } from '../clusters/index.ts';
import type { ProvisionedNode } from './provisioning-service.ts';
import type { SnapshotSchedule } from './snapshot-schedule.ts';

export interface ClusterSpec {
  name: string;
  kubernetesVersion: string;
  /** etcd snapshots on a schedule, kept up to a retention (none when absent). */
  snapshotSchedule?: SnapshotSchedule;
}

/** What the admin is handed to let the cluster's machines (or the engine) join. */
export interface DriverRegistration {
  /** The Drover server's URL the machines reach (the web UI builds the command for other roles from these parts). */
  server: string;
  token: string;
  caChecksum: string;
  /** The command to run on each machine (custom), or empty for an engine that needs none. */
  nodeCommand: string;
}

/** One direct (ACE) kubeconfig context straight at a control-plane endpoint. */
export interface NodeContext { name: string; server: string; caPem: string }

export interface ProvisioningDriver {
  readonly name: string;
  /** Checks the spec up front (unknown version, bad name) and creates the cluster in state `provisioning`. */
  create(spec: ClusterSpec): Promise<{ cluster: Cluster; registration: DriverRegistration }>;
  /** How machines join again (for `clusters get --registration`), with the cluster's current token. */
  registration(clusterId: string): Promise<DriverRegistration>;
  /** Whether this driver built the cluster (undefined: not its cluster), at which version. */
  versionOf(clusterId: string): Promise<string | undefined>;
  /** Nodes (or node pools) with each step's progress, for `clusters get` and the UI. */
  nodes(clusterId: string): Promise<ProvisionedNode[]>;
  /** Direct-access contexts, on by default for provisioned clusters. */
  aceContexts(clusterId: string): Promise<NodeContext[]>;
  /**
   * The cluster was deleted (its connected agents were told, `toldNodes` by name):
   * remove what can be removed, forget the rest, and say what was not reached.
   */
  deleted(clusterId: string, toldNodes: string[]): Promise<string>;
}
