/** Route guards: who the caller is (from the token), and whether they are an admin. */
import type { FastifyRequest } from 'fastify';
import { refusePasswordChangeOnly, type AuthenticatedUser, type TokenAuthenticator } from './credential.ts';
import { DroverError } from '../errors/index.ts';
import { credentialFrom, uiSessionsOf } from './session.ts';

const callers = new WeakMap<FastifyRequest, AuthenticatedUser>();

/**
 * Routes a cluster-scoped token may call besides its cluster's Kubernetes API: only
 * `whoami`, which the exec plugin uses to learn whether its cached token still holds.
 */
const clusterTokenRoutes: ReadonlySet<string> = new Set(['/v1/whoami']);

/**
 * Routes a user who must change their password may call (Fastify route URLs): who am I,
 * the change itself, and ending the session. Everything else answers
 * DRV_ERR_PASSWORD_CHANGE_REQUIRED, whichever way the token was obtained.
 */
const passwordChangeRoutes: ReadonlySet<string> = new Set(['/v1/whoami', '/v1/users/me/password', '/v1/logout', '/v1/session']);

/**
 * A preHandler that authenticates the request's token (Bearer, or the UI's
 * session cookie under the CSRF and Origin rules of session.ts); throws 400/401/403.
 * A user who must change their password gets only `passwordChangeRoutes`.
 * A cluster-scoped token (a kubeconfig's) is for that cluster's Kubernetes API: it
 * lives in files that get copied around, so it cannot manage Drover (mint tokens,
 * change members) even though it names the same user.
 */
export function authenticateWith(authenticator: TokenAuthenticator) {
  return async (request: FastifyRequest): Promise<void> => {
    const route = request.routeOptions.url ?? '';
    // The session settings come with the app the route is registered on (api/app.ts installs them).
    const credential = credentialFrom(request.headers, uiSessionsOf(request.server));
    const user = await authenticator.authenticate(credential);
    if (!passwordChangeRoutes.has(route)) refusePasswordChangeOnly(user);
    if (user.token.clusterId !== undefined && !clusterTokenRoutes.has(route)) {
      throw new DroverError('DRV_ERR_FORBIDDEN', `this token is scoped to cluster ${user.token.clusterId} and works only for its Kubernetes API (/k8s/clusters/${user.token.clusterId}); use your login token ("drover login")`);
    }
    callers.set(request, user);
  };
}

/** The authenticated caller; a route without the preHandler gets a 500, never an anonymous pass. */
export function caller(request: FastifyRequest): AuthenticatedUser {
  const user = callers.get(request);
  if (!user) throw new DroverError('DRV_ERR_INTERNAL', 'route used caller() without authentication');
  return user;
}

/** The caller, when an authentication hook accepted one (the audit trail; routes use `caller`). */
export function knownCaller(request: FastifyRequest): AuthenticatedUser | undefined {
  return callers.get(request);
}

export function requireAdmin(request: FastifyRequest): AuthenticatedUser {
  const user = caller(request);
  if (user.globalRole !== 'admin') throw new DroverError('DRV_ERR_FORBIDDEN', 'only admins may do this');
  return user;
}
