/**
 * REST routes of the provider core: the public list of enabled providers (the
 * login page, the CLI), the admin settings routes (configure, test, enable,
 * disable) and principal search for any logged-in user.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { authenticateWith, caller, ErrorBody, requireAdmin } from '../../http/index.ts';
import type { TokenAuthenticator } from '../types.ts';
import type { ProviderService } from './provider-service.ts';
import { AuthProviderInfo, Principal, ProviderAccessMode, ProviderTestAnswer, ProviderView } from '../../api-types/index.ts';

const closed = { additionalProperties: false } as const;
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody, 429: ErrorBody, 500: ErrorBody, 502: ErrorBody } as const;
const ProviderNameParam = Type.Object({ name: Type.String({ minLength: 1, maxLength: 32, pattern: '^[a-z]+$' }) });

const ConfigureBody = Type.Object({
  config: Type.Record(Type.String(), Type.Unknown(), { description: 'provider settings; secret fields left out keep their stored value' }),
  accessMode: Type.Optional(ProviderAccessMode),
  allowedPrincipals: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { maxItems: 1000 })),
}, closed);

const TestBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 256 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
}, closed);

const SearchQuery = Type.Object({
  q: Type.String({ minLength: 1, maxLength: 128 }),
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: '1-100, default 20' })),
}, closed);

export function providersApi(options: { service: ProviderService; authenticator: TokenAuthenticator }): FastifyPluginAsyncTypebox {
  const { service } = options;
  const authenticated = authenticateWith(options.authenticator);
  return (app) => {
    app.get('/v1/auth/providers', {
      schema: {
        summary: 'Enabled auth providers, for the login page and the CLI (no authentication)', tags: ['auth'],
        response: { 200: Type.Array(AuthProviderInfo), 500: ErrorBody },
      },
    }, async () => [{ name: 'local', style: 'password' as const, displayName: 'Local users' }, ...await service.publicList()]);

    const admin = { tags: ['providers'], security: [{ bearer: [] }] };
    app.get('/v1/providers', {
      schema: { ...admin, summary: 'Every auth provider with its settings, without secrets (admins)', response: { 200: Type.Array(ProviderView), ...errors } },
      preHandler: authenticated,
    }, async (request) => {
      requireAdmin(request);
      return service.list();
    });

    app.put('/v1/providers/:name', {
      schema: { ...admin, summary: 'Configure a provider (admins); a changed configuration needs a new test login before it can be enabled', params: ProviderNameParam, body: ConfigureBody, response: { 200: ProviderView, ...errors } },
      preHandler: authenticated,
    }, async (request) => {
      requireAdmin(request);
      const b = request.body;
      return service.configure(request.params.name, {
        config: b.config, ...(b.accessMode ? { accessMode: b.accessMode } : {}), ...(b.allowedPrincipals ? { allowedPrincipals: b.allowedPrincipals } : {}),
      });
    });

    app.post('/v1/providers/:name/test', {
      schema: { ...admin, summary: 'Test-log-in through a password provider with its stored configuration (admins); success allows enabling it', params: ProviderNameParam, body: TestBody, response: { 200: ProviderTestAnswer, ...errors } },
      preHandler: authenticated,
    }, async (request) => {
      requireAdmin(request);
      const identity = await service.test(request.params.name, request.body);
      return { ok: true, user: identity.user, groups: identity.groups };
    });

    for (const action of ['enable', 'disable'] as const) {
      app.post(`/v1/providers/:name/${action}`, {
        schema: {
          ...admin, params: ProviderNameParam, response: { 200: ProviderView, ...errors },
          summary: action === 'enable' ? 'Enable a provider whose configuration passed a test login (admins)' : 'Disable a provider and revoke every token of its users (admins)',
        },
        preHandler: authenticated,
      }, async (request) => {
        requireAdmin(request);
        return action === 'enable' ? service.enable(request.params.name) : service.disable(request.params.name);
      });
    }

    app.get('/v1/principals', {
      schema: {
        tags: ['providers'], security: [{ bearer: [] }], summary: 'Search users and groups by name: local users and every enabled provider',
        querystring: SearchQuery, response: { 200: Type.Array(Principal), ...errors },
      },
      preHandler: authenticated,
    }, async (request) => {
      caller(request);
      const limit = Math.min(100, Math.max(1, Number(request.query.limit ?? '20')));
      return service.search(request.query.q, limit);
    });
    return Promise.resolve();
  };
}
