/** Users, tokens, logins and the web UI session (routes in src/api/). */
import { Type, type Static } from 'typebox';

export const User = Type.Object({
  id: Type.String({ description: 'u-<random>' }),
  username: Type.String(),
  displayName: Type.String(),
  enabled: Type.Boolean(),
  globalRole: Type.Union([Type.Literal('admin'), Type.Literal('user')]),
  principalIds: Type.Array(Type.String()),
  mustChangePassword: Type.Boolean(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type User = Static<typeof User>;

/** A created user; `generatedPassword` only when Drover chose it (shown this once). */
export const CreatedUser = Type.Object({
  ...User.properties,
  generatedPassword: Type.Optional(Type.String({ description: 'the generated password, shown only in this answer; the user must change it at first login' })),
});
export type CreatedUser = Static<typeof CreatedUser>;

export const Token = Type.Object({
  id: Type.String({ description: 'token-<random>' }),
  userId: Type.String(),
  kind: Type.Union([Type.Literal('session'), Type.Literal('api'), Type.Literal('kubeconfig')]),
  authProvider: Type.String(),
  description: Type.String(),
  clusterId: Type.Optional(Type.String()),
  enabled: Type.Boolean(),
  createdAt: Type.String(),
  expiresAt: Type.Optional(Type.String()),
  lastUsedAt: Type.Optional(Type.String()),
  current: Type.Optional(Type.Boolean({ description: 'true for the token this request used' })),
});
export type Token = Static<typeof Token>;

export const IssuedToken = Type.Object({
  token: Type.String({ description: 'token-<id>:<secret>; shown only in this response' }),
  tokenId: Type.String(),
  expiresAt: Type.Optional(Type.String()),
  user: User,
});
export type IssuedToken = Static<typeof IssuedToken>;

export const Whoami = Type.Object({
  id: Type.String(),
  username: Type.String(),
  displayName: Type.String(),
  provider: Type.String(),
  principalIds: Type.Array(Type.String()),
  groups: Type.Array(Type.String()),
  globalRole: Type.Union([Type.Literal('admin'), Type.Literal('user')]),
  token: Type.Object({
    id: Type.String(), clusterId: Type.Optional(Type.String()), expiresAt: Type.Optional(Type.String()),
    passwordChangeOnly: Type.Optional(Type.Literal(true, { description: 'the user must change their password; until then this token opens only whoami, the password change and logout' })),
  }),
});
export type Whoami = Static<typeof Whoami>;

/** `/v1/session`: the web UI's login; the token itself stays in the HttpOnly cookie. */
export const Session = Type.Object({
  csrfToken: Type.String({ description: 'send back as X-Drover-CSRF on every cookie-authenticated request' }),
  expiresAt: Type.Optional(Type.String()),
  user: User,
});
export type Session = Static<typeof Session>;
