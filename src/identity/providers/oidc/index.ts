/**
 * Generic OIDC provider (Keycloak, Okta, Entra ID, Dex, ...). Trusts only what
 * openid-client verified: an ID token signed by the discovered issuer's keys, for
 * this client, unexpired, carrying the nonce of the login Drover started, after a
 * code exchange that proved the PKCE verifier. The user is `sub`, never the email.
 * Refuses (401) a wrong state, nonce, issuer or signature; fails closed with 502
 * DRV_ERR_PROVIDER_UNAVAILABLE when the issuer cannot be reached. TLS is always
 * verified (system roots, or the configured CA for a private issuer).
 */
import type { ProviderDefinition } from '../types.ts';
import { OidcConfigSchema, type OidcConfig } from './config.ts';
import { OidcProvider } from './oidc-provider.ts';

export { OidcConfigSchema, type OidcConfig } from './config.ts';
export { OidcProvider, type OidcProviderOptions } from './oidc-provider.ts';

export const oidcDefinition: ProviderDefinition<OidcConfig> = {
  name: 'oidc',
  style: 'redirect',
  displayName: 'OpenID Connect',
  configSchema: OidcConfigSchema,
  secretFields: ['clientSecret'],
  create: (config, deps) => new OidcProvider({ config, logger: deps.logger.child({ provider: 'oidc' }), credentials: deps.credentials }),
};
