/** /v1/users: admins create, list, enable/disable, reset passwords and delete; anyone reads themselves. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authErrors, authenticateWith, caller, requireAdmin } from '../http/index.ts';
import { Type } from 'typebox';
import { generatePassword } from '../identity/index.ts';
import { DroverError } from '../errors/index.ts';
import type { ApiContext } from './context.ts';
import { ChangePasswordRequest, CreateUserRequest, IdParams, UpdateUserRequest } from './schemas.ts';
import { CreatedUser, User } from '../api-types/index.ts';

export function userRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  const users = ctx.identity.users;
  return (app) => {
    app.addHook('preHandler', authenticateWith(ctx.identity.authenticator));
    const common = { tags: ['users'], security: [{ bearer: [] }] };

    app.get('/v1/users', { schema: { ...common, summary: 'List users (admins)', response: { 200: Type.Array(User), ...authErrors } } }, async (request) => {
      requireAdmin(request);
      return users.list();
    });

    app.post('/v1/users', {
      schema: {
        ...common, summary: 'Create a user (admins); without a password, one is generated, returned once, and must be changed at first login',
        body: CreateUserRequest, response: { 201: CreatedUser, ...authErrors, 409: authErrors[400], 422: authErrors[400] },
      },
    }, async (request, reply) => {
      requireAdmin(request);
      const b = request.body;
      const generated = b.password === undefined;
      const password = b.password ?? generatePassword();
      const user = await users.create({
        username: b.username, password,
        ...(b.displayName === undefined ? {} : { displayName: b.displayName }),
        ...(b.globalRole === undefined ? {} : { globalRole: b.globalRole }),
        mustChangePassword: generated || b.mustChangePassword === true,
      });
      return reply.status(201).send({ ...user, ...(generated ? { generatedPassword: password } : {}) });
    });

    app.post('/v1/users/me/password', {
      schema: { ...common, summary: 'Change your own local password (current + new); clears must-change-password and ends your other login sessions (every other token, if the password was a temporary one)', body: ChangePasswordRequest, response: { 204: Type.Null(), ...authErrors, 422: authErrors[400] } },
    }, async (request, reply) => {
      const me = caller(request);
      const verified = await users.verifyPassword(me.username, request.body.currentPassword);
      if (!verified || verified.id !== me.id) throw new DroverError('DRV_ERR_FORBIDDEN', 'the current password is wrong (only local users have a Drover password)');
      await users.setPassword(me.id, request.body.newPassword, me.token.id);
      return reply.status(204).send(null);
    });

    app.get('/v1/users/:id', { schema: { ...common, summary: 'Get a user by id or username', params: IdParams, response: { 200: User, ...authErrors } } }, async (request) => {
      const me = caller(request);
      const user = await users.get(request.params.id);
      // Non-admins see only themselves; anything else is "not found", not "forbidden", so names do not leak.
      if (me.globalRole !== 'admin' && user.id !== me.id) throw new DroverError('DRV_ERR_NOT_FOUND', `no user "${request.params.id}"`);
      return user;
    });

    app.patch('/v1/users/:id', {
      schema: { ...common, summary: 'Enable, disable, change the global role of, or set the password of another user (admins): they must change it at first login, and their tokens are revoked', params: IdParams, body: UpdateUserRequest, response: { 200: User, ...authErrors, 409: authErrors[400], 422: authErrors[400] } },
    }, async (request) => {
      const me = requireAdmin(request);
      const target = await users.get(request.params.id);
      if (request.body.enabled === false && target.id === me.id) throw new DroverError('DRV_ERR_CONFLICT', 'you cannot disable yourself; ask another admin');
      if (request.body.globalRole === 'user' && target.id === me.id) throw new DroverError('DRV_ERR_CONFLICT', 'you cannot remove your own admin role; ask another admin');
      if (request.body.password !== undefined && target.id === me.id) {
        throw new DroverError('DRV_ERR_CONFLICT', 'change your own password with "drover passwd" (it asks for the current one)');
      }
      // Someone else's password: they must change it at first login, and their tokens are revoked (as reset-password).
      if (request.body.password !== undefined) await users.resetPassword(target.id, request.body.password);
      if (request.body.enabled !== undefined) await users.setEnabled(target.id, request.body.enabled);
      if (request.body.globalRole !== undefined && request.body.globalRole !== target.globalRole) await users.setGlobalRole(target.id, request.body.globalRole);
      return users.get(target.id);
    });

    app.delete('/v1/users/:id', {
      schema: { ...common, summary: 'Delete a user and all their tokens (admins)', params: IdParams, response: { 204: Type.Null(), ...authErrors, 409: authErrors[400] } },
    }, async (request, reply) => {
      const me = requireAdmin(request);
      const target = await users.get(request.params.id);
      if (target.id === me.id) throw new DroverError('DRV_ERR_CONFLICT', 'you cannot delete yourself; ask another admin');
      await users.delete(target.id);
      return reply.status(204).send(null);
    });
    return Promise.resolve();
  };
}
