/**
 * Open streams end when access ends. A request is authorized once, when it arrives;
 * a watch, `logs -f`, exec, attach or port-forward can then run for hours. So every
 * proxied request and upgrade is held here, grouped by (cluster, token, identity), from the
 * moment it is forwarded until its caller's connection closes, and each group is
 * checked again with the chain's own rules (`recheck`, one function) whenever:
 *
 *  - an access change is announced (`accessChanged`): a token or user was
 *    invalidated (revoke, disable, delete, role or group change, a provider's
 *    revocation), or a cluster's membership changed;
 *  - the periodic pass comes round (every `intervalMs`, 2 s by default, over the open
 *    groups only): the safety net for token expiry and for changes this process
 *    was not told about (another replica's, until the database feed of issue #19
 *    calls `accessChanged` too).
 *
 * A refusal (a 4xx DroverError) ends every stream of the group with that reason;
 * anything else (the store unreachable) keeps them and is tried again on the next
 * pass, as a blip of the database must not cut every watch of every user.
 */
import { DroverError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import type { AuthenticatedUser } from '../identity/index.ts';
import { identityKey } from '../impersonation/index.ts';

/** What changed, as narrow as the source knows it. */
export type AccessChange =
  | { kind: 'token'; tokenId: string }
  | { kind: 'user'; userId: string }
  | { kind: 'cluster'; clusterId: string }
  | { kind: 'all' };

/** Ends one stream: a response is ended, an upgrade's two sockets destroyed, the tunnel stream released. */
export type EndStream = (why: DroverError) => void;

/** Who holds a stream open: the cluster, the caller as authenticated then, and the credential they sent. */
export interface StreamOwner {
  clusterId: string;
  user: AuthenticatedUser;
  /** The Authorization value the chain authenticated (the UI cookie turned into it), checked again as it was. */
  credential: string;
  /** The membership's mark when the stream opened: a binding of the user's removed after it ends the stream. */
  accessEpoch?: number | undefined;
}

/** Throws a DroverError when the owner may no longer use the cluster: the chain's rules, applied again. */
export type AccessRecheck = (owner: StreamOwner) => Promise<void>;

interface Group {
  owner: StreamOwner;
  ends: Set<EndStream>;
  /** A check in flight; `again` asks for one more after it (a change arrived meanwhile). */
  checking?: Promise<void>;
  again: boolean;
}

export interface OpenStreamsOptions {
  recheck: AccessRecheck;
  logger: Logger;
  /** The periodic pass (ms); 2 s by default, so an expired token ends within 5 s. */
  intervalMs?: number;
}

/**
 * Streams share a group, and so one check, when everything the check compares is the same:
 * cluster, token, the identity they were opened with (a stream opened after the user
 * gained a group carries that group, and must be ended when it is lost again), and the
 * membership's mark at their opening (one opened after a binding was removed is not ended
 * for that removal).
 */
const groupKey = ({ clusterId, user, accessEpoch }: StreamOwner): string =>
  `${clusterId}\u0000${user.token.id}\u0000${user.globalRole}\u0000${accessEpoch ?? ''}\u0000${identityKey(user)}`;

export class OpenStreams {
  private readonly groups = new Map<string, Group>();
  private readonly recheckAccess: AccessRecheck;
  private readonly logger: Logger;
  private readonly timer: NodeJS.Timeout;

  constructor(options: OpenStreamsOptions) {
    this.recheckAccess = options.recheck;
    this.logger = options.logger;
    this.timer = setInterval(() => this.accessChanged({ kind: 'all' }), options.intervalMs ?? 2_000);
    this.timer.unref();
  }

  /** Holds a stream until the returned release is called (its caller's connection closed). */
  open(owner: StreamOwner, end: EndStream): () => void {
    const key = groupKey(owner);
    let group = this.groups.get(key);
    if (!group) this.groups.set(key, group = { owner, ends: new Set(), again: false });
    const held = group;
    held.ends.add(end);
    return () => {
      held.ends.delete(end);
      if (held.ends.size === 0 && this.groups.get(key) === held) this.groups.delete(key);
    };
  }

  /** Checks again every open group the change may touch. Cheap when nothing is open. */
  accessChanged(change: AccessChange): void {
    for (const group of this.groups.values()) if (touches(change, group.owner)) this.check(group);
  }

  /** How many streams are open (metrics and tests). */
  get size(): number {
    let n = 0;
    for (const group of this.groups.values()) n += group.ends.size;
    return n;
  }

  /** Stops the periodic pass; streams still open are left to the server's shutdown. */
  close(): void {
    clearInterval(this.timer);
  }

  private check(group: Group): void {
    if (group.checking) {
      group.again = true;
      return;
    }
    group.checking = this.recheckAccess(group.owner).then(
      () => undefined,
      (error: unknown) => this.refused(group, error),
    ).finally(() => {
      group.checking = undefined;
      if (group.again && group.ends.size > 0) {
        group.again = false;
        this.check(group);
      }
    });
  }

  private refused(group: Group, error: unknown): void {
    const { clusterId, user } = group.owner;
    if (!(error instanceof DroverError) || error.status >= 500) {
      this.logger.warn({ cluster: clusterId, userId: user.id, err: error }, 'could not check an open stream\'s access again; keeping it until the next pass');
      return;
    }
    const why = new DroverError(error.code, `access to cluster ${clusterId} ended while this stream was open: ${error.message}`);
    this.logger.info({ cluster: clusterId, userId: user.id, tokenId: user.token.id, code: error.code, streams: group.ends.size }, 'open streams ended: access was taken away');
    for (const end of [...group.ends]) end(why);
  }
}

/** Where this process learns that access may have been taken away. */
export interface AccessChangeSources {
  /** Every invalidation of the token cache: revoke, logout, disable, delete, role or group change, a provider's revocation. */
  tokens: { onInvalidate(listener: (change: Extract<AccessChange, { kind: 'token' | 'user' | 'all' }>) => void): () => void };
  /** A cluster's bindings changed (undefined: every cluster). */
  membership: { onChange(listener: (clusterId: string | undefined) => void): () => void };
}

/** Feeds the process's access changes into `streams`; returns the unsubscribe. */
export function followAccessChanges(streams: Pick<OpenStreams, 'accessChanged'>, sources: AccessChangeSources): () => void {
  const off = [
    sources.tokens.onInvalidate((change) => streams.accessChanged(change)),
    sources.membership.onChange((clusterId) => streams.accessChanged(clusterId === undefined ? { kind: 'all' } : { kind: 'cluster', clusterId })),
  ];
  return () => { for (const unsubscribe of off) unsubscribe(); };
}

function touches(change: AccessChange, owner: StreamOwner): boolean {
  switch (change.kind) {
    case 'token': return owner.user.token.id === change.tokenId;
    case 'user': return owner.user.id === change.userId;
    case 'cluster': return owner.clusterId === change.clusterId;
    case 'all': return true;
    default: {
      const never: never = change;
      return never;
    }
  }
}
