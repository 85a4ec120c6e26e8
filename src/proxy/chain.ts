/**
 * The authentication proxy's request chain for `/k8s/clusters/<id>/...`, as an
 * ordered list of small steps. Each step reads what earlier steps put in the
 * context and sets its own fact; the order is the security argument, so every
 * constraint is stated where the list is:
 *
 *   recoverErrors          (the runner) every failure becomes a Kubernetes Status, nothing half-forwarded
 *   parseClusterPath       before authentication: a cluster-scoped token is checked against this id
 *                          (a root Kubernetes path, as `kubectl get --raw` sends, is kept for routeRootPath)
 *   refuseUpgradeBody      (upgrades) a declared body is refused with 400 before anything else: it would stall
 *                          the exchange, as nothing of it may be sent before the 101
 *   authenticate           Bearer (exactly one Authorization header), or the UI cookie with CSRF token + own Origin; never both;
 *                          a user who must change their password is refused here (403)
 *   routeRootPath          a root path goes to the cluster its token is scoped to; 404 for any other token
 *   resolveCluster         the token's cluster scope and membership first (a non-member learns nothing, 403),
 *                          then 404 / 503 with reason; `checkClusterAccess` is also what open streams are re-checked with
 *   stripCallerIdentity    builds the outgoing header list from scratch; records any `--as` request
 *   authorizeImpersonation after the strip (it reads what the strip parsed): SARs for `--as`, 403 otherwise
 *   ensureImpersonation    the per-user account token, from watch caches (no API call once it exists)
 *   forward / forwardUpgrade  identity added to the clean list at egress, re-checked, then sent; the stream is
 *                          held in `OpenStreams` until its caller leaves, and ended when access is taken away
 * Audit (when `deps.audit` is set): the record opens as the request arrives, so a refusal at any step is
 * recorded too; its `Audit-ID` goes downstream (a caller's own is scrubbed) so the cluster's log carries it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { DroverError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import { refusePasswordChangeOnly, type AuthenticatedUser, type TokenAuthenticator } from '../http/index.ts';
import { canonicalIdentity, impersonationHeaders, type UserIdentity, identityKey, describeCheck, impersonationChecks } from '../impersonation/index.ts';
import type { KubeClient } from '../kube/index.ts';
import { parseClusterPath as parsePath, parseRootKubePath, clusterPathPrefix, type ClusterPath } from './cluster-path.ts';
import { impersonationHeaderValue, scrubCallerHeaders, type RequestedImpersonation, type ScrubbedRequest } from './caller-headers.ts';
import { assertOnlyOurIdentity, forwardRequest } from './forward.ts';
import { forwardUpgrade } from './upgrade.ts';
import { connectionUse } from './connection-use.ts';
import { writeKubeStatus, writeKubeStatusToSocket } from './kube-status.ts';
import { credentialFrom, type UiSessions } from '../http/index.ts';
import type { UpstreamEndpoint, UpstreamPools } from './upstream.ts';
import type { EndStream, OpenStreams, StreamOwner } from './open-streams.ts';
import { auditExchange, execSessionInfo, newAuditId, type AuditTrail, type RequestAudit, type SessionRecorder, type SessionRecording } from '../audit/index.ts';

/** Whether a user may reach a cluster through the proxy (admins always). Owned by access/ bindings. */
export interface ClusterMembership {
  canAccessCluster(user: Pick<AuthenticatedUser, 'id' | 'groups' | 'globalRole'>, clusterId: string): Promise<boolean>;
  /** Hot path: the same answer without a promise when it is known now, else undefined and canAccessCluster decides. */
  canAccessClusterNow?(user: Pick<AuthenticatedUser, 'id' | 'groups' | 'globalRole'>, clusterId: string): boolean | undefined;
  /** A mark taken when a stream opens, for `lostSince`. */
  accessEpoch?(): number;
  /** Whether a binding naming the user or their groups in the cluster was removed or changed since the mark. */
  lostSince?(user: Pick<AuthenticatedUser, 'id' | 'groups'>, clusterId: string, epoch: number): boolean;
}

/** What the proxy needs to know about one connected cluster. */
export interface ProxyCluster {
  upstream: UpstreamEndpoint;
  /** Cluster-admin client (the agent's account): SubjectAccessReviews. */
  client: KubeClient;
  /** Cluster-admin bearer token, used only for `--as` requests a SubjectAccessReview allowed. */
  adminToken: string;
}

/** The cluster side: the live connection, or why there is none. */
export interface ProxyClusters {
  /** The live cluster; undefined when not connected. Must not touch the database (hot path). */
  live(clusterId: string): ProxyCluster | undefined;
  /** Cold path: throws DRV_ERR_NOT_FOUND, or returns the state and reason of a known cluster. */
  describe(clusterId: string): Promise<{ id: string; state: string; stateReason: string }>;
}

/** The account token to send downstream for a user. */
export interface ImpersonationTokenSource {
  tokenFor(clusterId: string, user: UserIdentity): Promise<string>;
  /** Hot path: the token when it is ready in the caches now (no await), else undefined and tokenFor decides. */
  readyToken?(clusterId: string, user: UserIdentity): string | undefined;
}

export interface ProxyDeps {
  authenticator: TokenAuthenticator;
  /** The web UI's session settings, to accept its cookie; absent: cookies are refused. */
  uiSessions?: UiSessions;
  membership: ClusterMembership;
  clusters: ProxyClusters;
  accounts: ImpersonationTokenSource;
  pools: UpstreamPools;
  /** Where forwarded requests and upgrades are held while open, to be ended when access is taken away. */
  streams: Pick<OpenStreams, 'open'>;
  /** How long a forwarded request waits for the response head (ms); 0 or absent: no bound. Never bounds a body. */
  responseHeaderTimeoutMs?: number;
  logger: Logger;
  /** The audit trail; absent: nothing is recorded. */
  audit?: Pick<AuditTrail, 'begin'>;
  /** Records exec and attach sessions; absent: none are. */
  recorder?: Pick<SessionRecorder, 'start'>;
}

/** What the steps hand forward. Each fact has one owner step. */
export interface ProxyContext {
  req: IncomingMessage;
  kind: { type: 'http'; res: ServerResponse } | { type: 'upgrade'; socket: Duplex; head: Buffer };
  path?: ClusterPath;
  /** A Kubernetes API path sent to the server root (kubectl --raw); routeRootPath turns it into `path`. */
  rootPath?: string;
  user?: AuthenticatedUser;
  /** The Authorization value `user` was authenticated from, kept to check it again while a stream is open. */
  credential?: string;
  cluster?: ProxyCluster;
  scrubbed?: ScrubbedRequest;
  /** Set by authorizeImpersonation when an allowed `--as` request replaces the user downstream. */
  actAs?: RequestedImpersonation;
  /** The identity headers added at egress: bearer token plus Impersonate-*. Shared between requests: never mutate. */
  egressIdentity?: ReadonlyArray<[string, string]>;
  /** The request's audit record, opened by the runner. */
  audit?: RequestAudit;
}

export type ProxyStep = (ctx: ProxyContext, deps: ProxyDeps) => Promise<void> | void;

const need = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new DroverError('DRV_ERR_INTERNAL', `proxy step ran without ${what}`);
  return value;
};

export const parseClusterPath: ProxyStep = (ctx) => {
  const url = ctx.req.url ?? '';
  const root = url.startsWith(clusterPathPrefix) ? undefined : parseRootKubePath(url);
  if (root === undefined) ctx.path = parsePath(url);
  else ctx.rootPath = root;
};

/**
 * Synchronous when the authenticator's cache answers (every request but the first of a
 * token each few seconds): the chain then awaits nothing before forwarding.
 */
export const authenticate: ProxyStep = (ctx, deps) => {
  const raw = ctx.req.rawHeaders;
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]?.toLowerCase() === 'authorization') values.push(raw[i + 1] ?? '');
  // Node keeps only the first Authorization header: two are ambiguous, so refused.
  if (values.length > 1) throw new DroverError('DRV_ERR_UNAUTHENTICATED', 'send exactly one Authorization header');
  // The UI's session cookie counts only with the page's CSRF token and our own Origin, which a
  // WebSocket must always send (cross-site WebSocket hijacking, CVE-2019-13209); cookie + Bearer is refused.
  // A WebSocket carries the CSRF token as a subprotocol, which stripCallerIdentity never forwards.
  const header = credentialFrom(ctx.req.headers, deps.uiSessions, { upgrade: ctx.kind.type === 'upgrade' });
  if (header === undefined || !/^bearer\s+\S/i.test(header)) {
    throw new DroverError('DRV_ERR_UNAUTHENTICATED', 'send a Drover token as "Authorization: Bearer <token>"; get a kubeconfig with "drover kubeconfig CLUSTER"');
  }
  const admit = (user: AuthenticatedUser): void => {
    // A user who must change their password reaches no cluster until they have.
    refusePasswordChangeOnly(user);
    ctx.user = user;
    ctx.credential = header;
  };
  const cached = deps.authenticator.authenticateCached?.(header);
  return cached ? admit(cached) : deps.authenticator.authenticate(header).then(admit);
};

/** A root Kubernetes path (`kubectl get --raw /version`) goes to the cluster its token is scoped to. */
export const routeRootPath: ProxyStep = (ctx) => {
  if (ctx.path) return;
  const downstreamPath = need(ctx.rootPath, 'a request path');
  const clusterId = need(ctx.user, 'a user').token.clusterId;
  if (clusterId === undefined) {
    throw new DroverError('DRV_ERR_NOT_FOUND', `${JSON.stringify(downstreamPath.split('?', 1)[0]?.slice(0, 64))} is a Kubernetes API path: send it under ${clusterPathPrefix}<clusterID>/, or with a cluster's kubeconfig token (kubectl --raw drops the server's path)`);
  }
  ctx.path = { clusterId, downstreamPath };
};

/**
 * Whether an authenticated user may use a cluster: a cluster-scoped token only its own, and
 * only members (admins always). The chain asks it per request (without a promise when
 * membership can answer now); open streams ask it again.
 */
export function checkClusterAccess(membership: ClusterMembership, user: AuthenticatedUser, clusterId: string): Promise<void> | void {
  if (user.token.clusterId !== undefined && user.token.clusterId !== clusterId) {
    throw new DroverError('DRV_ERR_FORBIDDEN', 'this token is scoped to another cluster; use that cluster\'s kubeconfig');
  }
  const refuse = (member: boolean): void => {
    if (!member) throw new DroverError('DRV_ERR_FORBIDDEN', `you are not a member of cluster ${clusterId}; ask an admin for a binding`);
  };
  const now = membership.canAccessClusterNow?.(user, clusterId);
  return now === undefined ? membership.canAccessCluster(user, clusterId).then(refuse) : refuse(now);
}

/**
 * The check an open stream gets again: the same credential authenticated and the same
 * cluster access as when it was opened, and nothing the stream acts with taken away
 * since: it carries the groups (Impersonate-Group) and the admin role it was opened with.
 */
export function recheckAccess(deps: Pick<ProxyDeps, 'authenticator' | 'membership'>): (owner: StreamOwner) => Promise<void> {
  return async ({ credential, clusterId, user: opened, accessEpoch: epoch }) => {
    const user = await deps.authenticator.authenticate(credential);
    refusePasswordChangeOnly(user);
    await checkClusterAccess(deps.membership, user, clusterId);
    const lost = opened.groups.filter((g) => !user.groups.includes(g));
    if (lost.length > 0) throw new DroverError('DRV_ERR_FORBIDDEN', `you are no longer in ${lost.map((g) => JSON.stringify(g)).join(', ')}`);
    if (opened.globalRole === 'admin' && user.globalRole !== 'admin') throw new DroverError('DRV_ERR_FORBIDDEN', 'you are no longer a global admin');
    // Still a member through another binding is not enough: the one this stream was opened under may be the one removed.
    if (user.globalRole !== 'admin' && epoch !== undefined && deps.membership.lostSince?.(opened, clusterId, epoch)) {
      throw new DroverError('DRV_ERR_FORBIDDEN', 'a role you held in this cluster when this stream was opened was removed or changed; open it again if your roles still allow it');
    }
  };
}

export const resolveCluster: ProxyStep = (ctx, deps) => {
  const user = need(ctx.user, 'a user');
  const { clusterId } = need(ctx.path, 'a cluster path');
  // Access before existence, so a non-member cannot probe which cluster ids exist.
  const access = checkClusterAccess(deps.membership, user, clusterId);
  return access ? access.then(() => useCluster(ctx, deps, clusterId)) : useCluster(ctx, deps, clusterId);
};

/** The live cluster (no await), or why there is none. */
function useCluster(ctx: ProxyContext, deps: ProxyDeps, clusterId: string): Promise<void> | void {
  const live = deps.clusters.live(clusterId);
  if (live) {
    ctx.cluster = live;
    return;
  }
  return deps.clusters.describe(clusterId).then((known) => {
    if (known.id !== clusterId) throw new DroverError('DRV_ERR_NOT_FOUND', `no cluster "${clusterId}"`);
    const reason = known.state === 'active' ? 'its agent is not connected to this server' : known.stateReason || `it is ${known.state}`;
    throw new DroverError('DRV_ERR_CLUSTER_UNAVAILABLE', `cluster ${clusterId} is not available: ${reason}`, { retryAfterSeconds: 5 });
  });
}

export const stripCallerIdentity: ProxyStep = (ctx) => {
  ctx.scrubbed = scrubCallerHeaders(ctx.req.rawHeaders);
};

export const authorizeImpersonation: ProxyStep = (ctx) => {
  const requested = need(ctx.scrubbed, 'scrubbed headers').impersonation;
  // Most requests ask for no `--as`: no promise for them.
  return requested && reviewImpersonation(ctx, requested);
};

async function reviewImpersonation(ctx: ProxyContext, requested: RequestedImpersonation): Promise<void> {
  // The SubjectAccessReviews ask about the identity the apiserver would see for this
  // user: the same groups (the authenticated ones included) and extras as our egress.
  const user = canonicalIdentity(identityOf(need(ctx.user, 'a user')));
  const cluster = need(ctx.cluster, 'a cluster');
  const extra = { principalid: user.principalIds, username: [user.username] };
  for (const check of impersonationChecks(requested)) {
    const review = await cluster.client.create<{ status?: { allowed?: boolean } } & Record<string, unknown>>('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
      spec: { user: user.id, groups: user.groups, extra, resourceAttributes: { verb: 'impersonate', ...check } },
    });
    if (review.status?.allowed !== true) {
      throw new DroverError('DRV_ERR_FORBIDDEN', `you may not impersonate ${describeCheck(check)} in this cluster`);
    }
  }
  ctx.actAs = requested;
}

/** Synchronous once the user's account token is in the watch caches. */
export const ensureImpersonation: ProxyStep = (ctx, deps) => {
  const user = need(ctx.user, 'a user');
  const cluster = need(ctx.cluster, 'a cluster');
  if (ctx.actAs) {
    // The SubjectAccessReviews proved the user could send these headers to the apiserver
    // itself; only the cluster's admin account may impersonate an arbitrary identity.
    ctx.egressIdentity = [['authorization', `Bearer ${cluster.adminToken}`], ...requestedHeaders(ctx.actAs)];
    return;
  }
  const identity = identityOf(user);
  const { clusterId } = need(ctx.path, 'a cluster path');
  const use = (token: string): void => { ctx.egressIdentity = egressIdentityFor(deps.accounts, clusterId, identity, token); };
  const ready = deps.accounts.readyToken?.(clusterId, identity);
  return ready === undefined ? deps.accounts.tokenFor(clusterId, identity).then(use) : use(ready);
};

/**
 * The egress identity headers per (cluster, user, token), built once: the token
 * changes with the account (a recreated account has a new Secret), and the identity
 * key covers everything the Impersonate-* headers are made of. Never mutated; the
 * egress list copies it and re-checks it on every request.
 */
type EgressMemo = Map<string, { token: string; headers: ReadonlyArray<[string, string]> }>;
const egressMemo = new WeakMap<ImpersonationTokenSource, EgressMemo>();
const maxEgressMemo = 10_000;

function egressIdentityFor(source: ImpersonationTokenSource, clusterId: string, identity: UserIdentity, token: string): ReadonlyArray<[string, string]> {
  let memo = egressMemo.get(source);
  if (!memo) egressMemo.set(source, memo = new Map() as EgressMemo);
  const key = `${clusterId}\u0000${identityKey(identity)}`;
  const known = memo.get(key);
  if (known?.token === token) return known.headers;
  const headers: ReadonlyArray<[string, string]> = Object.freeze([['authorization', `Bearer ${token}`], ...Object.entries(impersonationHeaders(identity))
    .flatMap(([name, values]) => values.map((v): [string, string] => [name.toLowerCase(), v]))]);
  if (memo.size >= maxEgressMemo) memo.clear();
  memo.set(key, { token, headers });
  return headers;
}

function identityOf(user: AuthenticatedUser): UserIdentity {
  return { id: user.id, username: user.username, principalIds: user.principalIds, groups: user.groups };
}

function requestedHeaders(requested: RequestedImpersonation): Array<[string, string]> {
  const value = impersonationHeaderValue;
  return [
    ['impersonate-user', value(requested.user)],
    ...(requested.uid ? [['impersonate-uid', value(requested.uid)] as [string, string]] : []),
    ...requested.groups.map((g): [string, string] => ['impersonate-group', value(g)]),
    ...Object.entries(requested.extras).flatMap(([key, values]) =>
      values.map((v): [string, string] => [`impersonate-extra-${encodeURIComponent(key)}`, value(v)])),
  ];
}

const egressNames = new WeakMap<ReadonlyArray<[string, string]>, ReadonlySet<string>>();

/** What the audit record learns from the context, as far as the chain got. */
function auditFacts(ctx: ProxyContext): Parameters<RequestAudit['identify']>[0] {
  return { caller: ctx.user, clusterId: ctx.path?.clusterId, target: ctx.path?.downstreamPath, impersonated: ctx.actAs };
}

/** The outgoing header list: the scrubbed caller headers, then our identity, checked; and the audit id. */
function egressHeaders(ctx: ProxyContext): Array<[string, string]> {
  const identity = need(ctx.egressIdentity, 'an egress identity');
  const headers = [...need(ctx.scrubbed, 'scrubbed headers').forward, ...identity];
  if (ctx.audit) headers.push(['audit-id', ctx.audit.auditID]);
  let names = egressNames.get(identity);
  if (!names) egressNames.set(identity, names = new Set(identity.map(([name]) => name)));
  assertOnlyOurIdentity(headers, names);
  return headers;
}

/** Holds a forwarded exchange among the open streams until its caller's connection closes. */
function holdOpen(ctx: ProxyContext, deps: ProxyDeps, end: EndStream, caller: { once(event: 'close', listener: () => void): unknown }): void {
  const owner: StreamOwner = {
    clusterId: need(ctx.path, 'a cluster path').clusterId, user: need(ctx.user, 'a user'), credential: need(ctx.credential, 'a credential'),
    accessEpoch: deps.membership.accessEpoch?.(),
  };
  caller.once('close', deps.streams.open(owner, end));
}

export const forwardImpersonated: ProxyStep = (ctx, deps) => {
  if (ctx.kind.type !== 'http') throw new DroverError('DRV_ERR_INTERNAL', 'forwardImpersonated got an upgrade');
  const { clusterId, downstreamPath } = need(ctx.path, 'a cluster path');
  const cluster = need(ctx.cluster, 'a cluster');
  const { res } = ctx.kind;
  const exchange = ctx.audit && auditExchange(ctx.audit.identify(auditFacts(ctx)), { upgrade: false });
  if (exchange) res.once('close', () => exchange.finish(res.statusCode));
  const end = forwardRequest({
    req: ctx.req, res, pool: deps.pools.get(clusterId, cluster.upstream, connectionUse(ctx.req.method ?? 'GET', downstreamPath)), clusterId, downstreamPath,
    headers: egressHeaders(ctx), proxyPrefix: `${clusterPathPrefix}${clusterId}`, upstreamOrigin: cluster.upstream.url.origin,
    responseHeaderTimeoutMs: deps.responseHeaderTimeoutMs ?? 0, ...(exchange ? { observer: exchange } : {}),
  });
  holdOpen(ctx, deps, end, res);
};

/**
 * refuseUpgradeBody: nothing of a request body may go downstream before the 101, and
 * kube-apiserver would wait for the declared body before answering: the exchange would
 * hang, holding a tunnel stream. Real clients send none; `Content-Length: 0` is fine.
 * Read from the raw headers, so a duplicate or a second casing counts too.
 */
export const refuseUpgradeBody: ProxyStep = (ctx) => {
  const error = upgradeBodyError(ctx.req.rawHeaders);
  if (error) throw error;
};

/** The refusal of an upgrade whose raw headers declare a body; undefined when they declare none. Also the relay's check, before it strips hop-by-hop headers. */
export function upgradeBodyError(raw: readonly string[]): DroverError | undefined {
  let lengths = 0;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]?.toLowerCase();
    if (name === 'content-length') lengths++;
    if (name === 'transfer-encoding' || lengths > 1 || (name === 'content-length' && (raw[i + 1] ?? '').trim() !== '0')) {
      return new DroverError('DRV_ERR_BAD_REQUEST', `an upgrade request may not carry a body (it declared ${lengths > 1 ? 'content-length twice' : name}); send none`);
    }
  }
  return undefined;
}

/** An exec or attach is recorded before it starts (strict mode refuses it here when it cannot be). */
async function startRecording(ctx: ProxyContext, deps: ProxyDeps): Promise<SessionRecording | undefined> {
  const { clusterId, downstreamPath } = need(ctx.path, 'a cluster path');
  const session = deps.recorder && execSessionInfo({
    method: ctx.req.method ?? 'GET', target: downstreamPath, auditID: ctx.audit?.auditID ?? newAuditId(), clusterId, user: need(ctx.user, 'a user'),
  });
  if (!session || !deps.recorder) return undefined;
  const started = await deps.recorder.start(session);
  if (!('failed' in started)) return started;
  deps.logger.warn({ cluster: clusterId, userId: session.userId, reason: started.failed }, 'exec session not recorded');
  ctx.audit?.annotate('drover.dev/recording', started.failed);
  return undefined;
}

export const forwardImpersonatedUpgrade: ProxyStep = async (ctx, deps) => {
  if (ctx.kind.type !== 'upgrade') throw new DroverError('DRV_ERR_INTERNAL', 'forwardImpersonatedUpgrade got a plain request');
  const { clusterId, downstreamPath } = need(ctx.path, 'a cluster path');
  const protocol = need(ctx.scrubbed, 'scrubbed headers').upgrade;
  if (!protocol) throw new DroverError('DRV_ERR_BAD_REQUEST', 'an upgrade needs "Connection: Upgrade" and an Upgrade header');
  const recording = await startRecording(ctx, deps);
  const { socket } = ctx.kind;
  if (recording && socket.destroyed) recording.close();
  else if (recording) socket.once('close', () => recording.close());
  const exchange = ctx.audit && auditExchange(ctx.audit.identify(auditFacts(ctx)), { upgrade: true });
  let answered = 502;
  const observer = {
    onResponseStart: (status: number, headers: Record<string, string | string[] | undefined>) => {
      answered = status;
      exchange?.onResponseStart(status, headers);
    },
    // A WebSocket session is told apart by the subprotocol the cluster chose; SPDY by its Upgrade.
    onUpgraded: (caller: Duplex, upstream: Duplex, chosen: string | undefined) =>
      recording?.attach(caller, upstream, /^spdy\//i.test(protocol) ? protocol : chosen),
  };
  if (exchange) socket.once('close', () => exchange.finish(answered));
  const end = forwardUpgrade({
    req: ctx.req, socket, head: ctx.kind.head, endpoint: need(ctx.cluster, 'a cluster').upstream, clusterId,
    downstreamPath, headers: egressHeaders(ctx), protocol, proxyPrefix: `${clusterPathPrefix}${clusterId}`,
    responseHeaderTimeoutMs: deps.responseHeaderTimeoutMs ?? 0, observer,
  });
  holdOpen(ctx, deps, end, socket);
};

/** Steps shared by plain requests and upgrades, in order. */
const identitySteps: ProxyStep[] = [
  parseClusterPath, authenticate, routeRootPath, resolveCluster, stripCallerIdentity, authorizeImpersonation, ensureImpersonation,
];
export const proxyChain: readonly ProxyStep[] = [...identitySteps, forwardImpersonated];
export const upgradeChain: readonly ProxyStep[] = [refuseUpgradeBody, ...identitySteps, forwardImpersonatedUpgrade];

/** recoverErrors: runs the steps; any failure is answered once, as a Kubernetes Status. */
export async function runChain(steps: readonly ProxyStep[], ctx: ProxyContext, deps: ProxyDeps): Promise<void> {
  ctx.audit ??= deps.audit?.begin(ctx.req);
  try {
    for (const step of steps) {
      // Synchronous steps do not pay for an await.
      const pending = step(ctx, deps);
      if (pending) await pending;
    }
  } catch (error) {
    const status = error instanceof DroverError ? error.status : 500;
    const fields = { cluster: ctx.path?.clusterId, userId: ctx.user?.id, status, code: error instanceof DroverError ? error.code : 'DRV_ERR_INTERNAL' };
    if (status >= 500) deps.logger.error({ ...fields, err: error }, 'proxy request failed');
    else deps.logger.info(fields, 'proxy request refused');
    if (ctx.kind.type === 'http') writeKubeStatus(ctx.kind.res, error);
    else writeKubeStatusToSocket(ctx.kind.socket, error);
    ctx.audit?.identify(auditFacts(ctx)).complete(status, error instanceof DroverError && error.expose ? error.message : undefined);
  }
}

/** The raw handler and the upgrade handler for `/k8s/clusters/`. */
export function createProxyHandlers(deps: ProxyDeps): {
  request: (req: IncomingMessage, res: ServerResponse) => void;
  upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
} {
  return {
    request: (req, res) => void runChain(proxyChain, { req, kind: { type: 'http', res } }, deps),
    upgrade: (req, socket, head) => {
      socket.on('error', () => socket.destroy());
      void runChain(upgradeChain, { req, kind: { type: 'upgrade', socket, head } }, deps);
    },
  };
}
