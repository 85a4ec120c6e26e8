/** External identity providers and principals (routes in src/identity/providers/). */
import { Type, type Static } from 'typebox';

export const ProviderStyle = Type.Union([Type.Literal('password'), Type.Literal('redirect')]);
export const ProviderAccessMode = Type.Union([Type.Literal('unrestricted'), Type.Literal('restricted')]);

/** What the login page and the CLI learn of an enabled provider (`GET /v1/auth/providers`). */
export const AuthProviderInfo = Type.Object({ name: Type.String(), style: ProviderStyle, displayName: Type.String() });
export type AuthProviderInfo = Static<typeof AuthProviderInfo>;

export const Principal = Type.Object({
  id: Type.String({ description: 'principal URI, e.g. openldap_group://cn=ops,ou=groups,dc=example,dc=org' }),
  kind: Type.Union([Type.Literal('user'), Type.Literal('group')]),
  provider: Type.String(),
  displayName: Type.String(),
  loginName: Type.Optional(Type.String()),
});
export type Principal = Static<typeof Principal>;

export const ProviderView = Type.Object({
  name: Type.String(), style: ProviderStyle, displayName: Type.String(), configured: Type.Boolean(), enabled: Type.Boolean(),
  accessMode: ProviderAccessMode, allowedPrincipals: Type.Array(Type.String()),
  config: Type.Record(Type.String(), Type.Unknown(), { description: 'the configuration without secret fields' }),
  secretsSet: Type.Array(Type.String(), { description: 'secret fields that hold a value (never returned)' }),
  tested: Type.Boolean({ description: 'the current configuration passed a test login' }),
  testedAt: Type.Optional(Type.String()), updatedAt: Type.Optional(Type.String()),
  pending: Type.Optional(Type.Object({
    accessMode: ProviderAccessMode, allowedPrincipals: Type.Array(Type.String()),
    config: Type.Record(Type.String(), Type.Unknown()),
    tested: Type.Boolean({ description: 'the pending configuration passed a test login; enable promotes it' }),
    testedAt: Type.Optional(Type.String()), updatedAt: Type.String(),
  }, { description: 'a changed configuration of the enabled provider: serves nothing until tested, then enable promotes it' })),
});
export type ProviderView = Static<typeof ProviderView>;

export const ProviderTestAnswer = Type.Object({ ok: Type.Boolean(), user: Principal, groups: Type.Array(Principal) });
export type ProviderTestAnswer = Static<typeof ProviderTestAnswer>;

/** A browser login started for the CLI or an admin's test (GitHub, OIDC). */
export const LoginLink = Type.Object({
  requestId: Type.String(), loginUrl: Type.String(),
  /** A terminal login's one-time code: the person logging in types it on the page loginUrl opens. */
  userCode: Type.Optional(Type.String()),
});
export type LoginLink = Static<typeof LoginLink>;

/** The token a terminal's browser login collects (`POST /v1/auth/cli-token`). */
export const CollectedToken = Type.Object({ token: Type.String(), tokenId: Type.String(), expiresAt: Type.Optional(Type.String()), user: Type.Object({ id: Type.String(), username: Type.String() }) });
export type CollectedToken = Static<typeof CollectedToken>;
