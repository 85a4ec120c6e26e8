/**
 * The REST API's request shapes, as TypeBox schemas: they validate requests (unknown
 * fields are refused: every body is `additionalProperties: false`) and generate the
 * OpenAPI document. The answers' shapes live in src/api-types/, where the CLI and the
 * UI find them too (a response schema also decides what is serialised, so nothing
 * outside it, such as a hash, can leak through a response).
 */
import { Type, type Static } from 'typebox';

const closed = { additionalProperties: false } as const;

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

export const Health = Type.Object({ status: Type.String() });

export type LoginRequestBody = Static<typeof LoginRequest>;
