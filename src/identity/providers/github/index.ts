/**
 * GitHub and GitHub Enterprise Server login (OAuth app web flow). Trusts only
 * what GitHub's API answers to the token Drover itself obtained by exchanging the
 * code with the client secret, after checking the state Drover issued. Principals
 * use numeric ids (`github_user://<id>`, `github_org://<id>`, `github_team://<id>`),
 * never logins, which can be renamed and taken by someone else. Refuses a foreign
 * or missing state and a refused code (401); an unreachable GitHub is 502
 * DRV_ERR_PROVIDER_UNAVAILABLE; a 401 on refresh revokes the user's Drover tokens.
 */
import type { ProviderDefinition } from '../types.ts';
import { GitHubConfigSchema, type GitHubConfig } from './config.ts';
import { GitHubProvider } from './github-provider.ts';

export { GitHubConfigSchema, endpointsFor, type GitHubConfig } from './config.ts';
export { GitHubProvider, type GitHubProviderOptions } from './github-provider.ts';
export { nextLink } from './api-client.ts';

export const githubDefinition: ProviderDefinition<GitHubConfig> = {
  name: 'github',
  style: 'redirect',
  displayName: 'GitHub',
  configSchema: GitHubConfigSchema,
  secretFields: ['clientSecret'],
  create: (config, deps) => new GitHubProvider({ config, logger: deps.logger.child({ provider: 'github' }), credentials: deps.credentials }),
};
