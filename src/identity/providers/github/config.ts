/** The GitHub provider's settings: what an admin sends to `PUT /v1/providers/github`. */
import { Type, type Static } from 'typebox';

export const GitHubConfigSchema = Type.Object({
  /** `github.com` (default) or a GitHub Enterprise Server host name, optionally with a port. */
  hostname: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9.-]+(:[0-9]{1,5})?$', maxLength: 253 })),
  clientId: Type.String({ minLength: 1, maxLength: 256 }),
  clientSecret: Type.String({ minLength: 1, maxLength: 1024, description: 'stored encrypted, never returned' }),
  /** PEM of the CA for a GitHub Enterprise host with a private certificate; the system roots otherwise. */
  caPem: Type.Optional(Type.String({ maxLength: 65536 })),
  displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
}, { additionalProperties: false });

export type GitHubConfig = Static<typeof GitHubConfigSchema>;

export interface GitHubEndpoints {
  /** Where the browser logs in: `https://github.com` or `https://<host>`. */
  web: string;
  /** The REST API: `https://api.github.com` or `https://<host>/api/v3`. */
  api: string;
}

/** The only difference between github.com and an Enterprise host (or the test stand-in): these two base URLs. */
export function endpointsFor(config: GitHubConfig): GitHubEndpoints {
  const host = (config.hostname ?? 'github.com').toLowerCase();
  if (host === 'github.com') return { web: 'https://github.com', api: 'https://api.github.com' };
  return { web: `https://${host}`, api: `https://${host}/api/v3` };
}

/** Scopes the OAuth app asks for: the user's profile and their organisation and team memberships. */
export const githubScopes = ['read:user', 'read:org'];
