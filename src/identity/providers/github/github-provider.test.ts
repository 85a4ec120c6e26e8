import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../../logging/index.ts';
import { playBrowser } from '../../../../test/testenv/oidc-issuer.ts';
import { startGitHubStandin, type GitHubStandin } from '../../../../test/testenv/github-standin.ts';
import type { RedirectStart } from '../types.ts';
import { endpointsFor } from './config.ts';
import { GitHubProvider } from './github-provider.ts';
import { nextLink } from './api-client.ts';
import { refused } from '../../../testing/index.ts';

const redirectUri = 'https://drover.test/v1/auth/github/callback';

describe('GitHub endpoints and pagination', () => {
  it('github.com and an Enterprise host differ only in their base URLs', () => {
    assert.deepEqual(endpointsFor({ clientId: 'c', clientSecret: 's' }), { web: 'https://github.com', api: 'https://api.github.com' });
    assert.deepEqual(endpointsFor({ clientId: 'c', clientSecret: 's', hostname: 'GHE.example.com' }), { web: 'https://ghe.example.com', api: 'https://ghe.example.com/api/v3' });
  });

  it('the next page is read from the Link header, in any order of rels', () => {
    assert.equal(nextLink('<https://api.github.com/user/teams?page=2>; rel="next", <https://api.github.com/user/teams?page=5>; rel="last"'), 'https://api.github.com/user/teams?page=2');
    assert.equal(nextLink('<https://x/a?page=1>; rel="prev", <https://x/a?page=3>; rel="next"'), 'https://x/a?page=3');
    assert.equal(nextLink('<https://x/a?page=1>; rel="first"'), undefined);
    assert.equal(nextLink(null), undefined);
  });
});

describe('GitHub provider against the stand-in', () => {
  let gh: GitHubStandin;
  const providers: GitHubProvider[] = [];
  const make = (overrides: { clientSecret?: string; hostname?: string } = {}): GitHubProvider => {
    const provider = new GitHubProvider({
      config: { hostname: gh.hostname, clientId: gh.clientId, clientSecret: gh.clientSecret, caPem: gh.caPem, ...overrides }, logger: silentLogger(),
    });
    providers.push(provider);
    return provider;
  };
  const browse = async (start: RedirectStart, login: string): Promise<URL> => {
    const steps = await playBrowser(start.authorizeUrl, { cas: [gh.caPem], fields: () => ({ login }), stopAt: (url) => url.startsWith(redirectUri) });
    const last = steps.at(-1);
    assert.ok(last && last.url.startsWith(redirectUri), `no callback: ${JSON.stringify(steps.map((s) => [s.url, s.status]))}`);
    return new URL(last.url);
  };

  before(async () => {
    gh = await startGitHubStandin();
    gh.setOrg({ id: 501, login: 'acme' });
    gh.setOrg({ id: 502, login: 'widgets' });
    for (let i = 1; i <= 7; i += 1) gh.setTeam({ id: 9000 + i, org: 'acme', slug: `team-${i}`, name: `Team ${i}` });
    gh.setUser({ id: 42, login: 'octocat', name: 'Mona', orgs: ['acme', 'widgets'], teams: [1, 2, 3, 4, 5, 6, 7].map((i) => `acme/team-${i}`) });
    gh.setUser({ id: 43, login: 'hubot', orgs: [], teams: [] });
    gh.setMaxPageSize(2);
  });
  after(async () => {
    for (const p of providers) await p.close();
    await gh.stop();
  });

  it('a login maps the user, every org and every team (across pages) to numeric-id principals', async () => {
    const provider = make();
    const start = await provider.startLogin(redirectUri);
    const identity = await provider.completeLogin(await browse(start, 'octocat'), start.pending);
    assert.deepEqual(identity.user, { id: 'github_user://42', kind: 'user', provider: 'github', displayName: 'Mona', loginName: 'octocat' });
    assert.deepEqual(identity.groups.filter((g) => g.id.startsWith('github_org://')).map((g) => g.id), ['github_org://501', 'github_org://502']);
    const teams = identity.groups.filter((g) => g.id.startsWith('github_team://'));
    assert.equal(teams.length, 7);
    assert.equal(teams[0]?.displayName, 'acme/team-1');
    assert.ok(gh.requests().filter((r) => r === 'GET /api/v3/user/teams').length >= 4, 'teams were read page by page');
  });

  it('a callback whose state is not the login\'s is refused before any code exchange', async () => {
    const provider = make();
    const start = await provider.startLogin(redirectUri);
    const callback = await browse(start, 'octocat');
    const before = gh.requests().filter((r) => r.includes('access_token')).length;
    await refused(provider.completeLogin(callback, { ...start.pending, state: 'x'.repeat(43) }), 'DRV_ERR_UNAUTHENTICATED', /state/);
    callback.searchParams.delete('state');
    await refused(provider.completeLogin(callback, start.pending), 'DRV_ERR_UNAUTHENTICATED', /state/);
    assert.equal(gh.requests().filter((r) => r.includes('access_token')).length, before);
  });

  it('a replayed code is refused by GitHub', async () => {
    const provider = make();
    const start = await provider.startLogin(redirectUri);
    const callback = await browse(start, 'hubot');
    await provider.completeLogin(callback, start.pending);
    await refused(provider.completeLogin(callback, start.pending), 'DRV_ERR_UNAUTHENTICATED', /bad_verification_code/);
  });

  it('a wrong client secret is refused', async () => {
    const provider = make({ clientSecret: 'wrong' });
    const start = await provider.startLogin(redirectUri);
    await refused(provider.completeLogin(await browse(start, 'hubot'), start.pending), 'DRV_ERR_UNAUTHENTICATED', /incorrect_client_credentials/);
  });

  it('refresh follows team changes, and a revoked token makes the user gone', async () => {
    const provider = make();
    gh.setUser({ id: 44, login: 'lisa', orgs: ['acme'], teams: ['acme/team-1'] });
    const start = await provider.startLogin(redirectUri);
    await provider.completeLogin(await browse(start, 'lisa'), start.pending);
    gh.setUser({ id: 44, login: 'lisa', orgs: ['acme'], teams: ['acme/team-2'] });
    const changed = await provider.refresh('github_user://44');
    assert.equal(changed.state, 'found');
    assert.deepEqual(changed.state === 'found' ? changed.identity.groups.map((g) => g.id) : [], ['github_org://501', 'github_team://9002']);
    gh.revokeTokens('lisa');
    assert.equal((await provider.refresh('github_user://44')).state, 'gone');
    await refused(provider.refresh('github_user://44'), 'DRV_ERR_PROVIDER_UNAVAILABLE');
  });

  it('search finds users by login and the teams of organisations seen in logins', async () => {
    const provider = make();
    const start = await provider.startLogin(redirectUri);
    await provider.completeLogin(await browse(start, 'octocat'), start.pending);
    assert.deepEqual((await provider.search('octo', 10)).map((p) => p.id), ['github_user://42']);
    const teams = await provider.search('team-3', 10);
    assert.deepEqual(teams.map((p) => [p.id, p.displayName]), [['github_team://9003', 'acme/team-3']]);
  });

  it('an unreachable GitHub gives DRV_ERR_PROVIDER_UNAVAILABLE', async () => {
    const provider = make({ hostname: '127.0.0.1:1' });
    const start = await provider.startLogin(redirectUri);
    const callback = new URL(`${redirectUri}?code=abc&state=${start.pending.state}`);
    await refused(provider.completeLogin(callback, start.pending), 'DRV_ERR_PROVIDER_UNAVAILABLE', /could not be reached/);
  });

  it('GitHub behind a certificate from an untrusted CA is unreachable, never trusted', async () => {
    const provider = new GitHubProvider({ config: { hostname: gh.hostname, clientId: gh.clientId, clientSecret: gh.clientSecret }, logger: silentLogger() });
    providers.push(provider);
    const start = await provider.startLogin(redirectUri);
    const callback = new URL(`${redirectUri}?code=abc&state=${start.pending.state}`);
    await refused(provider.completeLogin(callback, start.pending), 'DRV_ERR_PROVIDER_UNAVAILABLE');
  });
});
