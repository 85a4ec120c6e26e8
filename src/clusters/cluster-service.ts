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
import type { IncomingMessage } from 'node:http';
import type { Kysely, Selectable } from 'kysely';
import type { ClustersTable, Database, SecretBox } from '../store/index.ts';
import { isUniqueViolation } from '../store/index.ts';
import { randomId } from '../shared/token.ts';
import { DroverError, InvalidArgumentError } from '../shared/errors.ts';
import { agentHeaders, type ClusterInfo } from '../shared/agent-protocol.ts';
import type { AgentIdentity } from '../tunnel/index.ts';
import {
  generateRegistrationToken, matchRegistrationToken, registrationTokenDigest, rotateRegistrationToken,
} from './registration-token.ts';

export type ClusterState = 'pending' | 'active' | 'unavailable';

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
  /** kube-apiserver as the agent reaches it. */
  apiServer?: string;
  createdAt: string;
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
}

const namePattern = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const nodeNamePattern = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
const tokenSecret = (id: string): string => `cluster/${id}/registration-token`;
const credentialSecret = (id: string): string => `cluster/${id}/credential`;

export interface ClusterServiceOptions {
  db: Kysely<Database>;
  secrets: SecretBox;
  now?: () => Date;
}

export class ClusterService {
  private readonly db: Kysely<Database>;
  private readonly secrets: SecretBox;
  private readonly now: () => Date;

  constructor(options: ClusterServiceOptions) {
    this.db = options.db;
    this.secrets = options.secrets;
    this.now = options.now ?? (() => new Date());
  }

  async create(input: { name: string; displayName?: string; tokenTtlMs?: number }): Promise<{ cluster: Cluster; registrationToken: string }> {
    if (!namePattern.test(input.name)) throw new InvalidArgumentError('name', 'a DNS label: lowercase letters, digits and "-", at most 63', input.name);
    const token = generateRegistrationToken();
    const at = this.now().toISOString();
    const id = randomId('c-', 8);
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto('clusters').values({
          id, name: input.name, display_name: input.displayName ?? input.name, state: 'pending',
          state_reason: 'waiting for the cluster agent to connect', registration_digest: registrationTokenDigest(token),
          registration_expires_at: input.tokenTtlMs ? new Date(Date.parse(at) + input.tokenTtlMs).toISOString() : null,
          previous_digest: null, previous_valid_until: null, api_server: null, ca_pem: null, kubernetes_version: null,
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

  /** By id (`c-…`) or name; 404 otherwise. */
  async get(idOrName: string): Promise<Cluster> {
    return toCluster(await this.row(idOrName));
  }

  async delete(idOrName: string): Promise<Cluster> {
    const row = await this.row(idOrName);
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('secrets').where('name', 'in', [tokenSecret(row.id), credentialSecret(row.id)]).execute();
      await tx.deleteFrom('clusters').where('id', '=', row.id).execute();
    });
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
        updated_at: now.toISOString(),
      }).where('id', '=', row.id).execute();
      await this.putSecret(tx, tokenSecret(row.id), rotated.token, now.toISOString());
    });
    return rotated.token;
  }

  /** The cluster a registration token belongs to; 401 for unknown or expired tokens. */
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
    if (!row || match === 'no-match') throw new DroverError('DRV_ERR_UNAUTHENTICATED', 'unknown cluster registration token');
    if (match === 'expired') throw new DroverError('DRV_ERR_TOKEN_EXPIRED', 'the cluster registration token has expired; rotate it with "drover clusters update --rotate-token"');
    return toCluster(row);
  }

  /** The tunnel's authenticator: the identity comes from the token's cluster alone. */
  async authenticateAgent(req: IncomingMessage): Promise<AgentIdentity> {
    const token = single(req, agentHeaders.token);
    if (!token) throw new DroverError('DRV_ERR_UNAUTHENTICATED', `missing ${agentHeaders.token} header`);
    const cluster = await this.clusterForToken(token);
    const kind = single(req, agentHeaders.kind) ?? 'cluster';
    if (kind === 'cluster') return { clusterId: cluster.id, kind };
    if (kind !== 'node') throw new DroverError('DRV_ERR_BAD_REQUEST', `${agentHeaders.kind} must be "cluster" or "node"`);
    const nodeName = single(req, agentHeaders.node);
    if (!nodeName || !nodeNamePattern.test(nodeName)) throw new DroverError('DRV_ERR_BAD_REQUEST', `a node agent needs a valid ${agentHeaders.node} header`);
    return { clusterId: cluster.id, kind, nodeName };
  }

  /** Stores what the agent reported; the credential is encrypted and bound to this cluster. */
  async recordAccess(clusterId: string, info: ClusterInfo): Promise<void> {
    const at = this.now().toISOString();
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('clusters').set({ api_server: info.apiServer, ca_pem: info.caPem, updated_at: at })
        .where('id', '=', clusterId).execute();
      await this.putSecret(tx, credentialSecret(clusterId), info.token, at);
    });
  }

  /** How to reach the cluster, or undefined before its agent has registered. */
  async access(clusterId: string): Promise<ClusterAccess | undefined> {
    const row = await this.row(clusterId);
    if (!row.api_server || !row.ca_pem) return undefined;
    return { apiServer: row.api_server, caPem: row.ca_pem, token: await this.getSecret(credentialSecret(row.id)) };
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

  private async putSecret(db: Kysely<Database>, name: string, value: string, at: string): Promise<void> {
    const ciphertext = this.secrets.encrypt(value, name);
    await db.insertInto('secrets').values({ name, ciphertext, updated_at: at })
      .onConflict((oc) => oc.column('name').doUpdateSet({ ciphertext, updated_at: at }))
      .execute();
  }

  private async getSecret(name: string): Promise<string> {
    const row = await this.db.selectFrom('secrets').select('ciphertext').where('name', '=', name).executeTakeFirst();
    if (!row) throw new DroverError('DRV_ERR_INTERNAL', `the stored secret ${name} is missing`);
    return this.secrets.decrypt(row.ciphertext, name);
  }
}

function single(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? undefined : value;
}

function toCluster(row: Selectable<ClustersTable>): Cluster {
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
    createdAt: row.created_at,
  };
}
