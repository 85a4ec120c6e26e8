/** Puts the access feature together: the store-backed service (built first: the clusters API and proxy ask it), the reconciler and the API. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ClustersFeature } from '../clusters/index.ts';
import type { Identity, UserService } from '../identity/index.ts';
import { groupPrincipalIds } from '../principals/index.ts';
import type { UsersByPrincipal } from '../identity/index.ts';
import type { Logger } from '../logging/index.ts';
import { accessApi } from './access-api.ts';
import type { AccessService } from './access-service.ts';
import type { ImpersonationAccounts } from '../impersonation/index.ts';
import { RbacReconciler } from './rbac-reconciler.ts';

export interface AccessFeatureOptions {
  access: AccessService;
  clusters: Pick<ClustersFeature, 'service' | 'controllers'>;
  accounts: ImpersonationAccounts;
  identity: Identity;
  /** Members added by provider user principal (directory users before their first login). */
  principals?: UsersByPrincipal;
  logger: Logger;
  /** A full RBAC pass per cluster even without events (`DROVER_RBAC_RESYNC_MS`; default 5 min). */
  resyncMs?: number;
}

export interface AccessFeature {
  reconciler: RbacReconciler;
  apiPlugins: FastifyPluginAsyncTypebox[];
  close(): Promise<void>;
}

/** Feeds every committed user change (create, role, enable/disable, delete) into the access service's admin set. */
export function followUserChanges(users: Pick<UserService, 'onChange'>, access: Pick<AccessService, 'userChanged'>, logger: Logger): () => void {
  return users.onChange((change) => {
    const userId = change.kind === 'deleted' ? change.userId : change.user.id;
    const facts = change.kind === 'deleted' ? undefined : { globalRole: change.user.globalRole, enabled: change.user.enabled };
    access.userChanged(userId, facts).catch((error: unknown) => logger.warn({ err: error, user: userId }, 'could not apply a user change to the admin set'));
  });
}

export function createAccessFeature(options: AccessFeatureOptions): AccessFeature {
  const { access, clusters, identity } = options;
  // Global admins get `globaladmin-<userId>` downstream: the admin set follows every committed user change.
  const offUsers = followUserChanges(identity.users, access, options.logger);
  const reconciler = new RbacReconciler({
    access, clusters: clusters.service, controllers: clusters.controllers, accounts: options.accounts,
    logger: options.logger,
    lookupUser: async (userId) => {
      const user = await identity.users.get(userId).catch(() => undefined);
      return user && {
        id: user.id, username: user.username, principalIds: user.principalIds, groups: groupPrincipalIds(user.principalIds),
        globalRole: user.globalRole, enabled: user.enabled,
      };
    },
    // Tests and benchmarks shorten the resync; production keeps the default.
    ...(options.resyncMs === undefined ? {} : { resyncMs: options.resyncMs }),
  });
  // A user's groups or state changed: every cluster's pass re-renders that user's impersonation role
  // (a group they left stops being impersonable now, not at the next resync).
  const offAccounts = identity.users.onChange(() => reconciler.scheduleAll());
  return {
    reconciler,
    apiPlugins: accessApi({
      access, clusters: clusters.service, controllers: clusters.controllers, identity,
      ...(options.principals === undefined ? {} : { principals: options.principals }),
    }),
    close: () => { offUsers(); offAccounts(); return reconciler.close(); },
  };
}
