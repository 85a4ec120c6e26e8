/**
 * The REST API's shapes, as TypeBox schemas: they validate requests (unknown
 * fields are refused: every body is `additionalProperties: false`), shape
 * responses (nothing outside the schema is ever serialised, so a hash cannot
 * leak through a response) and generate the OpenAPI document.
 */
import { Type, type Static } from 'typebox';

const closed = { additionalProperties: false } as const;

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

/** A created user; `generatedPassword` only when Drover chose it (shown this once). */
export const CreatedUser = Type.Object({
  ...User.properties,
  generatedPassword: Type.Optional(Type.String({ description: 'the generated password, shown only in this answer; the user must change it at first login' })),
});

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

const Username = Type.String({ minLength: 1, maxLength: 64 });
const Password = Type.String({ minLength: 1, maxLength: 256 });
const TtlSeconds = Type.Integer({ minimum: 1, description: 'lifetime in seconds, at most the server maximum' });

export const LoginRequest = Type.Object({
  username: Username,
  password: Password,
  provider: Type.Optional(Type.String({ maxLength: 32, description: 'auth provider: local (default), openldap or activedirectory' })),
  description: Type.Optional(Type.String({ maxLength: 256 })),
  ttlSeconds: Type.Optional(TtlSeconds),
}, closed);

export const IssuedToken = Type.Object({
  token: Type.String({ description: 'token-<id>:<secret>; shown only in this response' }),
  tokenId: Type.String(),
  expiresAt: Type.Optional(Type.String()),
  user: User,
});

export const CreateUserRequest = Type.Object({
  username: Username,
  displayName: Type.Optional(Type.String({ maxLength: 256 })),
  password: Type.Optional(Password),
  globalRole: Type.Optional(Type.Union([Type.Literal('admin'), Type.Literal('user')])),
  mustChangePassword: Type.Optional(Type.Boolean()),
}, closed);

export const UpdateUserRequest = Type.Object({
  enabled: Type.Optional(Type.Boolean()),
  password: Type.Optional(Password),
  globalRole: Type.Optional(Type.Union([Type.Literal('admin'), Type.Literal('user')])),
}, closed);

export const ChangePasswordRequest = Type.Object({ currentPassword: Password, newPassword: Password }, closed);

export const CreateTokenRequest = Type.Object({
  description: Type.Optional(Type.String({ maxLength: 256 })),
  kind: Type.Optional(Type.Union([Type.Literal('api'), Type.Literal('kubeconfig')])),
  ttlSeconds: Type.Optional(TtlSeconds),
  clusterId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
}, closed);

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

export const TokenListQuery = Type.Object({
  all: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')], { description: 'admins: every user\'s tokens' })),
  userId: Type.Optional(Type.String({ maxLength: 128, description: 'admins: this user\'s tokens' })),
}, closed);

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

export const Health = Type.Object({ status: Type.String() });

export type LoginRequestBody = Static<typeof LoginRequest>;
