/** Route guards: who the caller is (from the token), and whether they are an admin. */
import type { FastifyRequest } from 'fastify';
import type { AuthenticatedUser, TokenAuthenticator } from '../identity/index.ts';
import { DroverError } from '../shared/errors.ts';
import { credentialFrom, restrictedRoutes, uiSessionsFor } from './session.ts';

const callers = new WeakMap<FastifyRequest, AuthenticatedUser>();

/**
 * A preHandler that authenticates the request's token (Bearer, or the UI's
 * session cookie under the CSRF and Origin rules of session.ts); throws 400/401/403.
 */
export function authenticateWith(authenticator: TokenAuthenticator) {
  return async (request: FastifyRequest): Promise<void> => {
    const credential = credentialFrom(request.headers, uiSessionsFor(authenticator), { allowRestricted: restrictedRoutes.has(request.routeOptions.url ?? '') });
    callers.set(request, await authenticator.authenticate(credential));
  };
}

/** The authenticated caller; a route without the preHandler gets a 500, never an anonymous pass. */
export function caller(request: FastifyRequest): AuthenticatedUser {
  const user = callers.get(request);
  if (!user) throw new DroverError('DRV_ERR_INTERNAL', 'route used caller() without authentication');
  return user;
}

export function requireAdmin(request: FastifyRequest): AuthenticatedUser {
  const user = caller(request);
  if (user.globalRole !== 'admin') throw new DroverError('DRV_ERR_FORBIDDEN', 'only admins may do this');
  return user;
}
