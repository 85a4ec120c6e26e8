/**
 * GitHub (github.com or Enterprise Server) as an OAuth app: the browser logs in
 * at GitHub, Drover checks the state it made, exchanges the code server-side with
 * the client secret, and asks the REST API with the user's token who they are and
 * which organisations and teams they belong to. The same code serves github.com,
 * Enterprise and the test stand-in: only the base URLs (and a CA) differ.
 *
 * Refresh re-reads orgs and teams with the user's stored token (encrypted in
 * the database, so restarts and replicas keep it); GitHub answering 401 means the token was revoked or the user removed:
 * `gone`. Search asks /search/users, and the teams of organisations seen in logins.
 * A user added by principal before their first login is confirmed with
 * /user/{account_id} and some stored token; without one Drover refuses.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { DroverError } from '../../../errors/index.ts';
import type { Logger } from '../../../logging/index.ts';
import { KnownUsers } from '../known-users.ts';
import { isUnreachable, providerHttp, unavailable, type ProviderHttp } from '../redirect-fetch.ts';
import type { CredentialStore, Principal, RedirectProvider, RedirectStart, RefreshResult, VerifiedIdentity } from '../types.ts';
import { GitHubApi, GitHubNotFound, GitHubTokenRejected } from './api-client.ts';
import { endpointsFor, githubScopes, type GitHubConfig, type GitHubEndpoints } from './config.ts';
import { orgPrincipal, teamPrincipal, userPrincipal, type GitHubOrg, type GitHubTeam, type GitHubUser } from './principals.ts';

export interface GitHubProviderOptions {
  config: GitHubConfig;
  logger: Logger;
  http?: ProviderHttp;
  /** Where users' credentials are kept; in this process's memory by default (tests). */
  credentials?: CredentialStore;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class GitHubProvider implements RedirectProvider {
  readonly name = 'github' as const;
  readonly style = 'redirect' as const;
  private readonly config: GitHubConfig;
  private readonly logger: Logger;
  private readonly http: ProviderHttp;
  private readonly endpoints: GitHubEndpoints;
  private readonly api: GitHubApi;
  private readonly known: CredentialStore;
  /** Organisations seen in logins, by login: search lists their teams. */
  private readonly orgsSeen = new Map<string, Principal>();

  constructor(options: GitHubProviderOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.known = options.credentials ?? new KnownUsers();
    this.http = options.http ?? providerHttp(options.config.caPem === undefined ? {} : { caPem: options.config.caPem });
    this.endpoints = endpointsFor(options.config);
    this.api = new GitHubApi(this.endpoints.api, this.http.fetch);
  }

  startLogin(redirectUri: string): Promise<RedirectStart> {
    const state = randomBytes(32).toString('base64url');
    const url = new URL(`${this.endpoints.web}/login/oauth/authorize`);
    url.search = new URLSearchParams({ client_id: this.config.clientId, redirect_uri: redirectUri, scope: githubScopes.join(' '), state, allow_signup: 'false' }).toString();
    return Promise.resolve({ authorizeUrl: url.href, pending: { state, redirectUri } });
  }

  async completeLogin(callbackUrl: URL, pending: RedirectStart['pending']): Promise<VerifiedIdentity> {
    const params = callbackUrl.searchParams;
    const state = params.get('state');
    if (state === null || !sameText(state, pending.state)) throw new DroverError('DRV_ERR_UNAUTHENTICATED', 'the GitHub callback carries a state Drover did not issue for this login; start the login again');
    const failure = params.get('error');
    if (failure !== null) throw new DroverError('DRV_ERR_UNAUTHENTICATED', `GitHub did not authorize the login: ${failure}${params.get('error_description') ? ` (${params.get('error_description')})` : ''}`);
    const code = params.get('code');
    if (code === null || code === '') throw new DroverError('DRV_ERR_UNAUTHENTICATED', 'the GitHub callback carries no code; start the login again');
    const token = await this.exchange(code, pending.redirectUri);
    const identity = await this.identityFor(token);
    await this.known.save(identity, token);
    for (const org of identity.groups) if (org.id.startsWith('github_org://')) this.orgsSeen.set(org.displayName, org);
    this.logger.info({ provider: 'github', groups: identity.groups.length }, 'github login verified');
    return identity;
  }

  async refresh(userPrincipalId: string): Promise<RefreshResult> {
    const token = (await this.known.load(userPrincipalId))?.secret;
    if (token === undefined) {
      throw new DroverError('DRV_ERR_PROVIDER_UNAVAILABLE', 'Drover holds no GitHub token for this user; their groups stay as of their last login until they log in again');
    }
    try {
      const identity = await this.identityFor(token);
      if (identity.user.id !== userPrincipalId) {
        throw new DroverError('DRV_ERR_PROVIDER_UNAVAILABLE', 'GitHub answered the stored token with a different user; groups were not changed');
      }
      await this.known.save(identity);
      return { state: 'found', identity };
    } catch (error) {
      if (error instanceof GitHubTokenRejected) {
        await this.known.forget(userPrincipalId);
        return { state: 'gone', reason: 'GitHub refused the user\'s token (revoked, or the user was removed)' };
      }
      throw error;
    }
  }

  /**
   * GET /user/{account_id} with the newest stored user token (docs.github.com:
   * "Get a user using their ID"): the user's login and name; their organisations
   * and teams are learnt at their first login. Without any stored token Drover
   * cannot ask, and refuses.
   */
  async confirmUser(userPrincipalId: string): Promise<RefreshResult> {
    const id = /^github_user:\/\/([1-9][0-9]{0,15})$/.exec(userPrincipalId)?.[1];
    if (id === undefined) throw new DroverError('DRV_ERR_UNPROCESSABLE', 'a GitHub user principal is github_user://<numeric id>');
    const token = await this.known.newestSecret();
    if (token === undefined) {
      throw new DroverError('DRV_ERR_UNPROCESSABLE', 'Drover holds no GitHub credential to confirm this user with yet: the user must log in once through GitHub (or any GitHub user must have logged in)');
    }
    let user: GitHubUser;
    try {
      user = await this.api.get<GitHubUser>(`/user/${id}`, token);
    } catch (error) {
      if (error instanceof GitHubNotFound) return { state: 'gone', reason: 'GitHub has no user with this id' };
      // Another user's stale token must not read as the admin's own 401.
      if (error instanceof GitHubTokenRejected) throw new DroverError('DRV_ERR_UNPROCESSABLE', 'GitHub refused the stored credential Drover would confirm this user with: the user must log in once through GitHub');
      throw error;
    }
    const principal = userPrincipal(user);
    if (principal.id !== userPrincipalId) throw new DroverError('DRV_ERR_PROVIDER_UNAVAILABLE', 'GitHub answered with a different user; nothing was changed');
    return { state: 'found', identity: { user: principal, groups: [] } };
  }

  async search(query: string, limit: number): Promise<Principal[]> {
    const token = await this.known.newestSecret();
    const found = new Map<string, Principal>();
    const q = query.toLowerCase();
    const result = await this.api.get<{ items?: GitHubUser[] }>(`/search/users?q=${encodeURIComponent(`${query} in:login`)}&per_page=${Math.min(Math.max(limit, 1), 100)}`, token);
    for (const user of result.items ?? []) found.set(`github_user://${user.id}`, userPrincipal(user));
    if (token !== undefined) {
      // Organisations seen by this process, and by any replica or before a restart (from stored logins).
      const orgs = new Map(this.orgsSeen);
      for (const p of await this.known.search('github_org://', 1000)) if (p.id.startsWith('github_org://')) orgs.set(p.displayName, p);
      for (const [org, principal] of orgs) {
        if (org.toLowerCase().includes(q)) found.set(principal.id, principal);
        const teams = await this.api.list<GitHubTeam>(`/orgs/${encodeURIComponent(org)}/teams`, token);
        for (const team of teams) {
          if (team.slug.toLowerCase().includes(q) || (team.name ?? '').toLowerCase().includes(q)) found.set(`github_team://${team.id}`, teamPrincipal({ ...team, organization: { login: org } }));
        }
      }
    }
    return [...found.values()].slice(0, limit);
  }

  async close(): Promise<void> { await this.http.close(); }

  /** POST /login/oauth/access_token (docs.github.com: "Authorizing OAuth apps", step 2). GitHub reports a bad code with 200 and an `error` field. */
  private async exchange(code: string, redirectUri: string): Promise<string> {
    let response: Response;
    try {
      response = await this.http.fetch(`${this.endpoints.web}/login/oauth/access_token`, {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'drover' },
        body: new URLSearchParams({ client_id: this.config.clientId, client_secret: this.config.clientSecret, code, redirect_uri: redirectUri }).toString(),
      });
    } catch (error) {
      throw isUnreachable(error) ? unavailable('GitHub', error) : error;
    }
    const text = await response.text();
    if (response.status >= 500) throw new DroverError('DRV_ERR_PROVIDER_UNAVAILABLE', `GitHub answered the code exchange with HTTP ${response.status}; try again later`);
    let body: { access_token?: unknown; error?: unknown; error_description?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new DroverError('DRV_ERR_PROVIDER_UNAVAILABLE', `GitHub answered the code exchange with HTTP ${response.status} and no JSON`);
    }
    if (typeof body.access_token === 'string' && body.access_token !== '') return body.access_token;
    const reason = typeof body.error === 'string' ? body.error : `HTTP ${response.status}`;
    this.logger.info({ provider: 'github', reason }, 'github code exchange refused');
    throw new DroverError('DRV_ERR_UNAUTHENTICATED', `GitHub refused the login code (${reason}); start the login again`);
  }

  private async identityFor(token: string): Promise<VerifiedIdentity> {
    const [user, orgs, teams] = await Promise.all([
      this.api.get<GitHubUser>('/user', token),
      this.api.list<GitHubOrg>('/user/orgs', token),
      this.api.list<GitHubTeam>('/user/teams', token),
    ]);
    return { user: userPrincipal(user), groups: [...orgs.map(orgPrincipal), ...teams.map(teamPrincipal)] };
  }
}
