/**
 * /v1/settings/kubeconfig: every logged-in user reads the kubeconfig token
 * settings (the UI and CLI show the lifetime a download will get); only admins
 * change them, and never with a cluster-scoped token (a leaked kubeconfig must not
 * be able to lengthen every later kubeconfig's lifetime).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { authenticateWith, caller, requireAdmin, authErrors } from '../http/index.ts';
import type { TokenAuthenticator } from '../identity/index.ts';
import { DroverError } from '../errors/index.ts';
import { MAX_TOKEN_TTL_SECONDS, MIN_TOKEN_TTL_SECONDS, type KubeconfigSettingsStore } from './kubeconfig-settings.ts';
import { KubeconfigSettingsView } from '../api-types/index.ts';

const Seconds = Type.Integer({ minimum: MIN_TOKEN_TTL_SECONDS, maximum: MAX_TOKEN_TTL_SECONDS });
const SettingsBody = Type.Object({
  defaultTtlSeconds: Seconds,
  maxTtlSeconds: Seconds,
  generateToken: Type.Boolean(),
}, { additionalProperties: false });

export function settingsApi(options: { settings: KubeconfigSettingsStore; authenticator: TokenAuthenticator }): FastifyPluginAsyncTypebox {
  const { settings } = options;
  return (authed) => {
    authed.addHook('preHandler', authenticateWith(options.authenticator));
    const common = { tags: ['settings'], security: [{ bearer: [] }] };
    authed.get('/v1/settings/kubeconfig', {
      schema: { ...common, summary: 'Kubeconfig token settings: default and maximum lifetime, token or "drover token" exec plugin', response: { 200: KubeconfigSettingsView, ...authErrors } },
    }, async (request) => {
      caller(request);
      return settings.get();
    });
    authed.put('/v1/settings/kubeconfig', {
      schema: {
        ...common, summary: 'Change the kubeconfig token settings (admins); applies to the next kubeconfig or plugin token',
        body: SettingsBody, response: { 200: KubeconfigSettingsView, ...authErrors },
      },
    }, async (request) => {
      const me = requireAdmin(request);
      if (me.token.clusterId !== undefined) {
        throw new DroverError('DRV_ERR_FORBIDDEN', 'a cluster-scoped token cannot change server settings; log in with "drover login"');
      }
      return settings.set(request.body);
    });
    return Promise.resolve();
  };
}
