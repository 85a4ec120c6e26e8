/**
 * The typed shape of every table, for Kysely. Portable across SQLite and
 * PostgreSQL by construction: booleans are integers 0/1, times are ISO-8601 UTC
 * strings (they sort as text), ids are text. Later issues add their tables here
 * next to the migration that creates them.
 */

export interface UsersTable {
  id: string;
  username: string;
  display_name: string;
  /** 1 or 0. */
  enabled: number;
  global_role: 'admin' | 'user';
  /** argon2id PHC string, null for users from external providers. */
  password_hash: string | null;
  must_change_password: number;
  /** JSON array of principal URIs (`local://u-…`). */
  principal_ids: string;
  created_at: string;
  updated_at: string;
}

export interface TokensTable {
  id: string;
  user_id: string;
  /** `sha3-512$salt$digest`, see src/tokens/token.ts. */
  secret_hash: string;
  kind: 'session' | 'api' | 'kubeconfig';
  auth_provider: string;
  description: string;
  cluster_id: string | null;
  enabled: number;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

export interface SecretsTable {
  /** Encrypted credentials other issues keep (cluster tokens, provider secrets): `v1:<iv>:<tag>:<data>`. */
  name: string;
  ciphertext: string;
  updated_at: string;
}

export interface ClustersTable {
  id: string;
  name: string;
  display_name: string;
  state: 'pending' | 'provisioning' | 'active' | 'unavailable';
  state_reason: string;
  /** SHA-256 of the registration token (src/clusters/registration-token.ts). */
  registration_digest: string;
  registration_expires_at: string | null;
  previous_digest: string | null;
  previous_valid_until: string | null;
  /** kube-apiserver `host:port` as the agent dials it, pinned at first registration. */
  api_server: string | null;
  /** The CA that verifies it, pinned with it. */
  ca_pem: string | null;
  /** The account the agent's credential authenticates as there, pinned with them (0008). */
  api_account: string | null;
  /** JSON: the last agent report that differed from the pin, until accepted (0008). */
  apiserver_conflict: string | null;
  kubernetes_version: string | null;
  node_count: number | null;
  /** JSON `{cpu, memory, pods}` summed over nodes. */
  capacity: string | null;
  /** Which agent's tunnel carries traffic: `cluster` or `node`. */
  tunnel: string | null;
  /** JSON `[{name, address}]`: its control-plane nodes as its owner last saw them (0015). */
  control_planes: string | null;
  last_seen_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface RoleTemplatesTable {
  name: string;
  /** The custom RoleTemplate as JSON (built-ins live in code). */
  body: string;
  created_at: string;
  updated_at: string;
}

export interface ProjectsTable {
  /** `p-<random>`. */
  id: string;
  cluster_id: string;
  name: string;
  created_at: string;
}

export interface ClusterRoleBindingsTable {
  id: string;
  cluster_id: string;
  role_template: string;
  subject_kind: 'user' | 'group';
  /** User id or group principal id. */
  subject: string;
  created_at: string;
}

export interface ProjectRoleBindingsTable extends ClusterRoleBindingsTable {
  project_id: string;
}

/** Authorized cluster endpoint setting of one cluster: an FQDN with its CA, or one context per control-plane node. */
export interface ClusterAceTable {
  cluster_id: string;
  mode: 'fqdn' | 'nodes';
  fqdn: string | null;
  ca_pem: string | null;
  updated_at: string;
}

/** One external identity provider's settings (issue 8); secret config fields live encrypted in `secrets` as `provider:<name>`. */
export interface AuthProvidersTable {
  name: string;
  enabled: number;
  access_mode: 'unrestricted' | 'restricted';
  /** JSON array of principal URIs allowed to log in when restricted. */
  allowed_principals: string;
  /** JSON object: the non-secret config fields. */
  config: string;
  /** SHA-256 over the whole config (secrets included); enabling needs `tested_digest` equal to it. */
  config_digest: string;
  tested_digest: string | null;
  tested_at: string | null;
  updated_at: string;
  /** JSON: a changed configuration of an enabled provider waiting for its test login (migration 0006); its secrets are `provider-pending/<name>`. */
  pending: string | null;
}

/** Which Drover user an external user principal (`openldap_user://…`) is; unique by principal. */
export interface UserPrincipalsTable {
  principal_id: string;
  user_id: string;
  provider: string;
  created_at: string;
}

/** A redirect provider's memory of one user (issue 8): last identity (JSON) and the SecretBox-encrypted credential to ask again. */
export interface ProviderCredentialsTable {
  principal_id: string;
  provider: string;
  /** JSON VerifiedIdentity. */
  identity: string;
  /** SecretBox ciphertext (associated data `provider-credential/<provider>/<principal_id>`), or null when the login gave none. */
  secret: string | null;
  updated_at: string;
}

export interface SettingsTable {
  /** The setting's name, e.g. `kubeconfig`. */
  name: string;
  /** The setting's value as JSON; its owner checks the shape on read. */
  value: string;
  updated_at: string;
}

/** One `drover server` process (migration 0010): where peers reach it, and when it last said it is alive. */
export interface ReplicasTable {
  id: string;
  /** `HOST:PORT` of its HTTPS listener, as other replicas reach it (`--advertise-address`). */
  address: string;
  version: string;
  started_at: string;
  /** Milliseconds since the epoch (PostgreSQL's bigint arrives as a string). */
  heartbeat_at: number | string;
}

/** A replica holding agent sessions for a cluster (migration 0010). */
export interface ClusterTunnelsTable {
  cluster_id: string;
  replica_id: string;
  sessions: number;
  renewed_at: number | string;
}

/** A cluster Drover provisions on the user's machines (migration 0012). */
export interface ProvisionedClustersTable {
  cluster_id: string;
  kubernetes_version: string;
  created_at: string;
  /** The last restore asked for (JSON RestoreRequest; migration 0014). */
  restore: string | null;
  /** The snapshot schedule (migration 0014): every how many ms, and how many scheduled snapshots are kept. */
  snapshot_every_ms: number | null;
  snapshot_retention: number | null;
  /** The etcd node that started the cluster's etcd; the others join it (migration 0017). */
  etcd_seed: string | null;
}

/** A node registered for a provisioned cluster; `roles` and `ports` are JSON, `progress` the node's last report (JSON). */
export interface ProvisionedNodesTable {
  cluster_id: string;
  name: string;
  /** Random id the node agent keeps in its data dir: tells a restart from a second machine claiming the name. */
  node_id: string;
  roles: string;
  address: string;
  ports: string;
  plan_digest: string | null;
  progress: string | null;
  updated_at: string;
  /** When its node agent last asked for its plan or reported (migration 0017). */
  seen_at: string | null;
}

/** An etcd snapshot of a provisioned cluster; the bytes are `<data-dir>/snapshots/<cluster_id>/<id>.db`. */
export interface EtcdSnapshotsTable {
  id: string;
  cluster_id: string;
  /** The node whose etcd member gave it. */
  node: string;
  size: number;
  sha256: string;
  created_at: string;
  /** 1 when the cluster's schedule took it (migration 0014): retention prunes only those. */
  scheduled: number;
}

/** 1 MiB of an etcd snapshot's bytes, in order by `seq` (migration 0015). */
export interface EtcdSnapshotChunksTable {
  snapshot_id: string;
  seq: number;
  data: Buffer;
}

/** An exec or attach recording (migration 0015): its asciicast header line as JSON. */
export interface SessionRecordingsTable {
  audit_id: string;
  started_at: string;
  header: string;
  /** Milliseconds since the epoch of the last write (PostgreSQL's bigint arrives as a string). */
  written_at: number | string;
}

/** Event lines of a recording, appended in `seq` order as the session runs. */
export interface SessionRecordingChunksTable {
  audit_id: string;
  seq: number;
  data: string;
}

/** One recorded audit event (ResponseComplete), kept for `--audit-retention`. */
export interface AuditEventsTable {
  audit_id: string;
  /** MicroTime (fixed width), so text order is time order. */
  received_at: string;
  /** The Drover user id (the event's user.username), or system:anonymous. */
  user_id: string;
  username: string | null;
  cluster_id: string | null;
  verb: string;
  code: number;
  /** The whole audit.k8s.io/v1 Event as JSON, already redacted. */
  event: string;
}

/** A browser login in progress (migration 0013): its state's or request id's hash, and what its later steps need. */
export interface LoginFlowsTable {
  /** base64url(sha256(kind + ':' + state or request id)). */
  id: string;
  kind: 'callback' | 'request';
  provider: string;
  purpose: string;
  /** The client address that started it: each address holds a bounded number. */
  address: string;
  /** Milliseconds since the epoch (PostgreSQL's bigint arrives as a string). */
  expires_at: number | string;
  /** kind=request: its login link was opened (0/1). */
  started: number;
  /** kind=request, purpose=cli: base64url(sha256(verifier)). */
  challenge: string | null;
  /** SecretBox-encrypted JSON: the pending login (callback), or the token issued for the CLI (request). */
  payload: string | null;
  /** kind=request: JSON `{code, message}` of a failed browser login. */
  failure: string | null;
}

/** The login throttle's counter for one username or client address (migration 0013). */
export interface LoginFailuresTable {
  /** `user:<lower-case username>` or `addr:<address>`. */
  key: string;
  failures: number;
  /** Milliseconds since the epoch (PostgreSQL's bigint arrives as a string). */
  first_at: number | string;
  locked_until: number | string;
}

export interface Database {
  users: UsersTable;
  tokens: TokensTable;
  secrets: SecretsTable;
  clusters: ClustersTable;
  cluster_ace: ClusterAceTable;
  role_templates: RoleTemplatesTable;
  projects: ProjectsTable;
  cluster_role_bindings: ClusterRoleBindingsTable;
  project_role_bindings: ProjectRoleBindingsTable;
  auth_providers: AuthProvidersTable;
  user_principals: UserPrincipalsTable;
  provider_credentials: ProviderCredentialsTable;
  settings: SettingsTable;
  replicas: ReplicasTable;
  cluster_tunnels: ClusterTunnelsTable;
  provisioned_clusters: ProvisionedClustersTable;
  provisioned_nodes: ProvisionedNodesTable;
  etcd_snapshots: EtcdSnapshotsTable;
  etcd_snapshot_chunks: EtcdSnapshotChunksTable;
  session_recordings: SessionRecordingsTable;
  session_recording_chunks: SessionRecordingChunksTable;
  audit_events: AuditEventsTable;
  login_flows: LoginFlowsTable;
  login_failures: LoginFailuresTable;
}
