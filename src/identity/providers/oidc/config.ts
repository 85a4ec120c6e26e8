/** The OIDC provider's settings: what an admin sends to `PUT /v1/providers/oidc`. */
import { Type, type Static } from 'typebox';

export const OidcConfigSchema = Type.Object({
  /** The issuer URL exactly as the ID tokens' `iss` claim says it; discovery reads `<issuer>/.well-known/openid-configuration`. */
  issuer: Type.String({ pattern: '^https://', maxLength: 2048, description: 'https issuer URL (e.g. https://keycloak.example.com/realms/main)' }),
  clientId: Type.String({ minLength: 1, maxLength: 512 }),
  clientSecret: Type.String({ minLength: 1, maxLength: 4096, description: 'stored encrypted, never returned' }),
  /** PEM of the CA that signed the issuer's certificate, for a private issuer; the system roots otherwise. */
  caPem: Type.Optional(Type.String({ maxLength: 65536 })),
  /** Scopes to request; `openid` is always added. Add `offline_access` to let Drover re-check groups with a refresh token. */
  scopes: Type.Optional(Type.Array(Type.String({ pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$', maxLength: 128 }), { maxItems: 32 })),
  /** The claim holding the user's groups (a string array); default `groups`. */
  groupsClaim: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  /** Also read the groups claim from the userinfo endpoint (some issuers leave it out of the ID token). */
  groupsFromUserinfo: Type.Optional(Type.Boolean()),
  displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
}, { additionalProperties: false });

export type OidcConfig = Static<typeof OidcConfigSchema>;

export const defaultScopes = ['openid', 'profile', 'email'];

export function scopesOf(config: OidcConfig): string[] {
  const scopes = config.scopes ?? defaultScopes;
  return scopes.includes('openid') ? scopes : ['openid', ...scopes];
}
