/**
 * The cluster registry: clusters as Drover knows them, their registration tokens,
 * and what their agents reported about reaching kube-apiserver.
 *
 * The registration token decides which cluster an agent serves, and nothing else
 * does (T9): the tunnel identity is taken from the token's row, never from what
 * the agent says. Credentials an agent hands over are encrypted at rest, bound to
 * the cluster they belong to, and plaintext registration tokens are kept only
 * encrypted so that an admin can show the agent command again.
 */
import type { ControlPlaneNode } from './control-planes.ts';
import type { ChangePublisher } from '../coordination/index.ts';
import type { IncomingMessage } from 'node:http';
import type { Kysely, Selectable } from 'kysely';
import type { ClustersTable, Database, SecretBox } from '../store/index.ts';
import { deleteSecrets, isUniqueViolation, putSecret, readSecret } from '../store/index.ts';
import { randomId } from '../tokens/index.ts';
import { DroverError, InvalidArgumentError } from '../errors/index.ts';
import { agentHeaders } from '../agent-protocol/index.ts';
import type { AgentIdentity } from '../tunnel/index.ts';
import {
  generateRegistrationToken, matchRegistrationToken, registrationTokenDigest, rotateRegistrationToken,
} from './registration-token.ts';
import { caFingerprint, identityDigest, type ApiServerIdentity } from './apiserver-identity.ts';

/** `provisioning`: Drover is building it on registered nodes (src/provisioning/) until its API answers through the tunnel. */
export type ClusterState = 'pending' | 'provisioning' | 'active' | 'unavailable';

export interface Cluster {
  id: string;
  name: string;
  displayName: string;
  state: ClusterState;
  stateReason: string;
  kubernetesVersion?: string;
  nodeCount?: number;
  capacity?: { cpu: string; memory: string; pods: string };
  /** Which agent's tunnel carries traffic now. */
  tunnel?: 'cluster' | 'node';
  lastSeenAt?: string;
  /** kube-apiserver as the agent reaches it (pinned at first registration). */
  apiServer?: string;
  /** SHA-256 fingerprints of the pinned CA. */
  apiServerCaSha256?: string;
  /** The pinned account of the agent's credential. */
  agentAccount?: string;
  /** The last agent report that differed from the pin (its session was refused), until an admin accepts it. */
  apiServerConflict?: ApiServerConflictView;
  createdAt: string;
}

/** A refused report as admins see it; `digest` is what `--accept-new-apiserver` confirms. */
export interface ApiServerConflictView {
  apiServer: string;
  caSha256: string;
  account?: string;
  differences: string[];
  reportedAt: string;
  digest: string;
}

/** What is pinned for a cluster: undefined before its first registration. */
export interface ApiServerPin {
  apiServer: string;
  caPem: string;
  caSha256: string;
  /** Absent for clusters registered before pinning: pinned at the next registration. */
  account?: string;
}

/** How the server reaches a cluster: address, CA and the agent account's token. */
export interface ClusterAccess {
  apiServer: string;
  caPem: string;
  token: string;
}

export interface StatusUpdate {
  state?: ClusterState;
  stateReason?: string;
  kubernetesVersion?: string;
  nodeCount?: number;
  capacity?: Cluster['capacity'];
  tunnel?: 'cluster' | 'node' | null;
  lastSeenAt?: string;
  controlPlanes?: ControlPlaneNode[];
}

const namePattern = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const nodeNamePattern = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
const tokenSecret = (id: string): string => `cluster/${id}/registration-token`;
const credentialSecret = (id: string): string => `cluster/${id}/credential`;

export interface ClusterServiceOptions {
  db: Kysely<Database>;
  secrets: SecretBox;
  now?: () => Date;
  /** Where a delete, an accepted kube-apiserver or a rotated registration token is published for other replicas (the change feed). */
  changes?: ChangePublisher;
}

export class ClusterService {
  private readonly db: Kysely<Database>;
  private readonly secrets: SecretBox;
  private readonly now: () => Date;
  private readonly changes: ChangePublisher | undefined;

  constructor(options: ClusterServiceOptions) {
    this.db = options.db;
    this.changes = options.changes;
    this.secrets = options.secrets;
    this.now = options.now ?? (() => new Date());
  }

  async create(input: { name: string; displayName?: string; tokenTtlMs?: number; provisioned?: boolean }): Promise<{ cluster: Cluster; registrationToken: string }> {
    if (!namePattern.test(input.name)) throw new InvalidArgumentError('name', 'a DNS label: lowercase letters, digits and "-", at most 63', input.name);
    const token = generateRegistrationToken();
    const at = this.now().toISOString();
    const id = randomId('c-', 8);
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto('clusters').values({
          id, name: input.name, display_name: input.displayName ?? input.name, state: input.provisioned ? 'provisioning' : 'pending',
          state_reason: input.provisioned ? 'waiting for node agents to register' : 'waiting for the cluster agent to connect', registration_digest: registrationTokenDigest(token),
          registration_expires_at: input.tokenTtlMs ? new Date(Date.parse(at) + input.tokenTtlMs).toISOString() : null,
          previous_digest: null, previous_valid_until: null, api_server: null, ca_pem: null, api_account: null, apiserver_conflict: null, kubernetes_version: null,
          node_count: null, capacity: null, tunnel: null, last_seen_at: null, created_at: at, updated_at: at,
        }).execute();
        await this.putSecret(tx, tokenSecret(id), token, at);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new DroverError('DRV_ERR_CONFLICT', `a cluster named "${input.name}" already exists`);
      throw error;
    }
    return { cluster: await this.get(id), registrationToken: token };
  }

  async list(): Promise<Cluster[]> {
    const rows = await this.db.selectFrom('clusters').selectAll().orderBy('name').execute();
    return rows.map(toCluster);
  }

  /** The ids of the clusters in state `active`: what the controllers' silence check looks at, without reading whole rows. */
  async activeIds(): Promise<string[]> {
    const rows = await this.db.selectFrom('clusters').select('id').where('state', '=', 'active').execute();
    return rows.map((row) => row.id);
  }

  /** By id (`c-…`) or name; 404 otherwise. */
  async get(idOrName: string): Promise<Cluster> {
    return toCluster(await this.row(idOrName));
  }

  async delete(idOrName: string): Promise<Cluster> {
    const row = await this.row(idOrName);
    await this.db.transaction().execute(async (tx) => {
      await deleteSecrets(tx, [tokenSecret(row.id), credentialSecret(row.id)]);
      await tx.deleteFrom('clusters').where('id', '=', row.id).execute();
    });
    this.changes?.publish({ table: 'clusters', key: row.id });
    return toCluster(row);
  }

  /** The current registration token, for showing the agent command again (admins only). */
  async registrationToken(idOrName: string): Promise<string> {
    const row = await this.row(idOrName);
    return this.getSecret(tokenSecret(row.id));
  }

  /** Issues a new token; the old one keeps working for `graceMs` (0: revoked now). */
  async rotateToken(idOrName: string, options: { graceMs: number; tokenTtlMs?: number }): Promise<string> {
    const row = await this.row(idOrName);
    const now = this.now();
    const rotated = rotateRegistrationToken({ digest: row.registration_digest }, now, {
      graceMs: options.graceMs, ...(options.tokenTtlMs ? { ttlMs: options.tokenTtlMs } : {}),
    });
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('clusters').set({
        registration_digest: rotated.record.digest,
        registration_expires_at: rotated.record.expiresAt ?? null,
        previous_digest: rotated.record.previousDigest ?? null,
        previous_valid_until: rotated.record.previousValidUntil ?? null,
        // A refused report came from a holder of the old token: rotating locks it out.
        apiserver_conflict: null,
        updated_at: now.toISOString(),
      }).where('id', '=', row.id).execute();
      await this.putSecret(tx, tokenSecret(row.id), rotated.token, now.toISOString());
    });
    // Every replica ends its own sessions opened with the old token at once, not at its next periodic check.
    this.changes?.publish({ table: 'registration_tokens', key: row.id });
    return rotated.token;
  }

  /**
   * The cluster a registration token belongs to; 401 for unknown, rotated-out or
   * expired tokens, each saying what the agent's operator must do (an agent prints it).
   */
  async clusterForToken(token: string): Promise<Cluster> {
    const digest = registrationTokenDigest(token);
    const row = await this.db.selectFrom('clusters').selectAll()
      .where((eb) => eb.or([eb('registration_digest', '=', digest), eb('previous_digest', '=', digest)]))
      .executeTakeFirst();
    const match = row ? matchRegistrationToken({
      digest: row.registration_digest,
      ...(row.registration_expires_at ? { expiresAt: row.registration_expires_at } : {}),
      ...(row.previous_digest ? { previousDigest: row.previous_digest } : {}),
      ...(row.previous_valid_until ? { previousValidUntil: row.previous_valid_until } : {}),
    }, token, this.now()) : 'no-match';
    if (!row || match === 'no-match') {
      throw new DroverError('DRV_ERR_UNAUTHENTICATED', 'this registration token is not known to the server: its cluster was deleted, or the token '
        + 'belongs to another Drover server or was mistyped. If the cluster still exists, an admin shows its current agent command with '
        + '"drover clusters get NAME --registration"; otherwise stop this agent');
    }
    const registration = `"drover clusters get ${row.name} --registration"`;
    if (match === 'rotated-out') {
      throw new DroverError('DRV_ERR_TOKEN_EXPIRED', `this registration token of cluster "${row.name}" was replaced by a rotation (it stopped working at `
        + `${row.previous_valid_until ?? 'once'}): run the agent with the cluster's current token, which an admin shows with ${registration} `
        + '(in the cluster, re-apply the import manifest it prints)');
    }
    if (match === 'expired') {
      throw new DroverError('DRV_ERR_TOKEN_EXPIRED', `the registration token of cluster "${row.name}" expired at ${row.registration_expires_at ?? ''}: `
        + `an admin issues a new one with "drover clusters update ${row.name} --rotate-token", then the agent runs with that new token`);
    }
    return toCluster(row);
  }

  /** The tunnel's authenticator: the identity comes from the token's cluster alone. */
  async authenticateAgent(req: IncomingMessage): Promise<AgentIdentity> {
    const token = single(req, agentHeaders.token);
    if (!token) throw new DroverError('DRV_ERR_UNAUTHENTICATED', `missing ${agentHeaders.token} header`);
    const cluster = await this.clusterForToken(token);
    const credential = registrationTokenDigest(token);
    const kind = single(req, agentHeaders.kind) ?? 'cluster';
    if (kind === 'cluster') return { clusterId: cluster.id, kind, credential };
    if (kind !== 'node') throw new DroverError('DRV_ERR_BAD_REQUEST', `${agentHeaders.kind} must be "cluster" or "node"`);
    const nodeName = single(req, agentHeaders.node);
    if (!nodeName || !nodeNamePattern.test(nodeName)) throw new DroverError('DRV_ERR_BAD_REQUEST', `a node agent needs a valid ${agentHeaders.node} header`);
    return { clusterId: cluster.id, kind, nodeName, credential };
  }

  /**
   * The registration-token digests each cluster still accepts from a connected agent: the
   * current one (an expired token ends no session: its lifetime bounds new registrations),
   * and the previous one until its grace period ends. A cluster deleted accepts none.
   */
  async acceptedCredentials(clusterIds: readonly string[]): Promise<Map<string, Set<string>>> {
    const accepted = new Map<string, Set<string>>();
    if (clusterIds.length === 0) return accepted;
    const now = this.now().getTime();
    const rows = await this.db.selectFrom('clusters').select(['id', 'registration_digest', 'previous_digest', 'previous_valid_until'])
      .where('id', 'in', clusterIds).execute();
    for (const row of rows) {
      const digests = new Set([row.registration_digest]);
      if (row.previous_digest && row.previous_valid_until && Date.parse(row.previous_valid_until) > now) digests.add(row.previous_digest);
      accepted.set(row.id, digests);
    }
    return accepted;
  }

  /** The pinned kube-apiserver identity, or undefined before the first registration. */
  async pin(clusterId: string): Promise<ApiServerPin | undefined> {
    const row = await this.row(clusterId);
    return pinOf(row);
  }

  /**
   * Pins what the first verified agent reported (address, CA, account), or the account
   * alone for a cluster pinned before accounts were: only if the pin is still what
   * `expected` says (another agent may have pinned meanwhile). Returns whether it did.
   */
  async pinFirst(clusterId: string, identity: { apiServer: string; caPem: string; account: string }, expected: ApiServerPin | undefined): Promise<boolean> {
    const result = await this.db.updateTable('clusters')
      .set({ api_server: identity.apiServer, ca_pem: identity.caPem, api_account: identity.account, updated_at: this.now().toISOString() })
      .where('id', '=', clusterId).where('api_account', 'is', null)
      .where((eb) => (expected
        ? eb.and([eb('api_server', '=', expected.apiServer), eb('ca_pem', '=', expected.caPem)])
        : eb('api_server', 'is', null)))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Stores a credential verified to be the pinned account's (encrypted, bound to this cluster). */
  async recordCredential(clusterId: string, token: string): Promise<void> {
    await this.putSecret(this.db, credentialSecret(clusterId), token, this.now().toISOString());
  }

  /** Remembers a report that differed from the pin, for admins to see and perhaps accept. */
  async recordConflict(clusterId: string, report: ApiServerIdentity & { caPem: string; differences: string[] }): Promise<ApiServerConflictView> {
    const at = this.now().toISOString();
    const conflict: StoredConflict = {
      apiServer: report.apiServer, caPem: report.caPem, caSha256: report.caSha256, ...(report.account ? { account: report.account } : {}),
      differences: report.differences, reportedAt: at, digest: identityDigest(report),
    };
    await this.db.updateTable('clusters').set({ apiserver_conflict: JSON.stringify(conflict), updated_at: at }).where('id', '=', clusterId).execute();
    return conflictView(conflict);
  }

  /**
   * An admin accepts the reported kube-apiserver identity named by `digest` (the one
   * they were shown): it becomes the pin. 409 when there is none, or another report
   * replaced it meanwhile.
   */
  async acceptConflict(idOrName: string, digest: string): Promise<Cluster> {
    const row = await this.row(idOrName);
    const conflict = parseConflict(row.apiserver_conflict);
    if (!conflict) throw new DroverError('DRV_ERR_CONFLICT', `no agent of cluster "${row.name}" has reported a different kube-apiserver: there is nothing to accept`);
    if (conflict.digest !== digest) {
      throw new DroverError('DRV_ERR_CONFLICT', `the kube-apiserver reported for cluster "${row.name}" changed meanwhile (now ${conflict.digest}); look at "drover clusters get ${row.name}" and accept again`);
    }
    await this.db.updateTable('clusters').set({
      api_server: conflict.apiServer, ca_pem: conflict.caPem, api_account: conflict.account ?? null, apiserver_conflict: null,
      state: 'unavailable', state_reason: 'waiting for an agent that reports the kube-apiserver an admin accepted', updated_at: this.now().toISOString(),
    }).where('id', '=', row.id).where('apiserver_conflict', '=', row.apiserver_conflict).execute();
    this.changes?.publish({ table: 'clusters', key: row.id });
    return this.get(row.id);
  }

  /** How to reach the cluster, or undefined before its agent has registered. */
  async access(clusterId: string): Promise<ClusterAccess | undefined> {
    const row = await this.row(clusterId);
    if (!row.api_server || !row.ca_pem) return undefined;
    return { apiServer: row.api_server, caPem: row.ca_pem, token: await this.getSecret(credentialSecret(row.id)) };
  }

  /** The cluster's control-plane nodes as its owner last reported them (none before the first report). */
  async controlPlanes(clusterId: string): Promise<ControlPlaneNode[]> {
    const row = await this.row(clusterId);
    return row.control_planes ? JSON.parse(row.control_planes) as ControlPlaneNode[] : [];
  }

  async updateStatus(clusterId: string, update: StatusUpdate): Promise<void> {
    await this.db.updateTable('clusters').set({
      ...(update.state ? { state: update.state } : {}),
      ...(update.stateReason !== undefined ? { state_reason: update.stateReason } : {}),
      ...(update.kubernetesVersion !== undefined ? { kubernetes_version: update.kubernetesVersion } : {}),
      ...(update.nodeCount !== undefined ? { node_count: update.nodeCount } : {}),
      ...(update.capacity !== undefined ? { capacity: JSON.stringify(update.capacity) } : {}),
      ...(update.tunnel !== undefined ? { tunnel: update.tunnel } : {}),
      ...(update.lastSeenAt !== undefined ? { last_seen_at: update.lastSeenAt } : {}),
      ...(update.controlPlanes !== undefined ? { control_planes: JSON.stringify(update.controlPlanes) } : {}),
      updated_at: this.now().toISOString(),
    }).where('id', '=', clusterId).execute();
  }

  async updateDisplayName(idOrName: string, displayName: string): Promise<Cluster> {
    const row = await this.row(idOrName);
    await this.db.updateTable('clusters').set({ display_name: displayName, updated_at: this.now().toISOString() })
      .where('id', '=', row.id).execute();
    return this.get(row.id);
  }

  private async row(idOrName: string): Promise<Selectable<ClustersTable>> {
    const row = await this.db.selectFrom('clusters').selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .executeTakeFirst();
    if (!row) throw new DroverError('DRV_ERR_NOT_FOUND', `no cluster "${idOrName.slice(0, 64)}"`);
    return row;
  }

  private putSecret(db: Kysely<Database>, name: string, value: string, at: string): Promise<void> {
    return putSecret(db, this.secrets, name, value, at);
  }

  private async getSecret(name: string): Promise<string> {
    const value = await readSecret(this.db, this.secrets, name);
    if (value === undefined) throw new DroverError('DRV_ERR_INTERNAL', `the stored secret ${name} is missing`);
    return value;
  }
}

interface StoredConflict extends ApiServerConflictView { caPem: string }

function parseConflict(json: string | null): StoredConflict | undefined {
  if (!json) return undefined;
  try {
    return JSON.parse(json) as StoredConflict;
  } catch {
    return undefined;
  }
}

function conflictView(conflict: StoredConflict): ApiServerConflictView {
  const { caPem: _caPem, ...view } = conflict;
  return view;
}

function pinOf(row: Selectable<ClustersTable>): ApiServerPin | undefined {
  if (!row.api_server || !row.ca_pem) return undefined;
  return {
    apiServer: row.api_server, caPem: row.ca_pem, caSha256: caFingerprint(row.ca_pem),
    ...(row.api_account ? { account: row.api_account } : {}),
  };
}

function single(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? undefined : value;
}

function toCluster(row: Selectable<ClustersTable>): Cluster {
  const conflict = parseConflict(row.apiserver_conflict);
  return {
    id: row.id,
    name: row.name,
    displayName: row.display_name,
    state: row.state,
    stateReason: row.state_reason,
    ...(row.kubernetes_version ? { kubernetesVersion: row.kubernetes_version } : {}),
    ...(row.node_count === null ? {} : { nodeCount: row.node_count }),
    ...(row.capacity ? { capacity: JSON.parse(row.capacity) as Cluster['capacity'] } : {}),
    ...(row.tunnel === 'cluster' || row.tunnel === 'node' ? { tunnel: row.tunnel } : {}),
    ...(row.last_seen_at ? { lastSeenAt: row.last_seen_at } : {}),
    ...(row.api_server ? { apiServer: row.api_server } : {}),
    ...(row.ca_pem ? { apiServerCaSha256: caFingerprint(row.ca_pem) } : {}),
    ...(row.api_account ? { agentAccount: row.api_account } : {}),
    ...(conflict ? { apiServerConflict: conflictView(conflict) } : {}),
    createdAt: row.created_at,
  };
}
