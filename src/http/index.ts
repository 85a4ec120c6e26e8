/**
 * http/: the low HTTP layer every route file and the proxy share, below the
 * features and below identity. It holds who a request is (the credential contract,
 * `credentialFrom` for a Bearer header or the web UI's `__Host-drover_session`
 * cookie under its CSRF and Origin rules, session.ts), the route guards
 * (`authenticateWith`, `caller`, `requireAdmin`), the one error responder
 * (`{code, message}`; unexpected errors are a 500 with a generic message) and the
 * schemas every route family shares. It imports no feature folder: api/ assembles
 * the REST app from it, and identity, clusters, access, proxy and kube-api-auth
 * serve their routes with it.
 *
 * Trusts: the `TokenAuthenticator` it is given. Refuses: missing or invalid tokens
 * (401), non-admins on admin routes (403), a user who must change their password
 * anywhere but whoami, the change and logout (403), a cluster-scoped token on the
 * REST API, a cookie without its CSRF token or from another origin. Fails closed: a
 * route that forgets its authentication hook gets a 500, never an anonymous caller;
 * where no session settings were given, cookies are refused.
 */
export {
  refusePasswordChangeOnly, type AuthenticatedUser, type GlobalRole, type TokenAuthenticator,
} from './credential.ts';
export { authenticateWith, caller, knownCaller, requireAdmin } from './auth.ts';
export {
  UiSessions, assertSameOrigin, clearUiSession, credentialFrom, csrfHeaderName, csrfProtocolPrefix, installUiSessions, sessionCookieName,
  sessionCookiesOf, setUiSession, uiSessionsOf, type CredentialOptions,
} from './session.ts';
export { errorBody, installErrorHandling, sendError, toDroverError, type ErrorBodyShape } from './errors.ts';
export { ErrorBody, authErrors } from './schemas.ts';
export { LiveRoutes, collectLiveRoutes, type LiveNeed } from './live-routes.ts';
export { noteRelayedClient, peerAddress, relayedForHeader, sourceAddresses } from './client-address.ts';
