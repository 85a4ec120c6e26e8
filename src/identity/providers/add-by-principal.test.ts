import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupDn, groupsDn, peopleDn, serviceDn, servicePassword, startSlapd, userDn, type Slapd } from '../../../test/testenv/slapd.ts';
import { startGitHubStandin, type GitHubStandin } from '../../../test/testenv/github-standin.ts';
import { playBrowser } from '../../../test/testenv/oidc-issuer.ts';
import { silentLogger } from '../../logging/index.ts';
import { createSecretBox, openStore, type Store } from '../../store/index.ts';
import { refused } from '../../testing/index.ts';
import { createIdentity, type Identity } from '../index.ts';
import { GitHubProvider } from './github/github-provider.ts';
import { KnownUsers } from './known-users.ts';
import { OidcProvider } from './oidc/oidc-provider.ts';
import { ProviderService } from './provider-service.ts';

describe('adding provider users by principal before their first login', () => {
  let dir: string;
  let store: Store;
  let identity: Identity;
  let slapd: Slapd;
  let service: ProviderService;
  const principal = (uid: string): string => `openldap_user://${userDn(uid)}`;
  const userCount = async (): Promise<number> => (await identity.users.list()).length;
  const tokensOf = async (userId: string): Promise<number> =>
    (await store.db.selectFrom('tokens').select('id').where('user_id', '=', userId).execute()).length;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drover-add-by-principal-'));
    store = await openStore({ dataDir: dir });
    identity = createIdentity({ store, logger: silentLogger() });
    slapd = await startSlapd();
    service = new ProviderService({ store, secrets: createSecretBox(randomBytes(32)), identity, logger: silentLogger(), publicUrl: 'https://drover.test', sleep: () => Promise.resolve() });
    await service.configure('openldap', {
      config: { url: slapd.url, startTls: true, caPem: slapd.caPem, bindDn: serviceDn, bindPassword: servicePassword, userBaseDn: peopleDn, groupBaseDn: groupsDn },
    });
    await service.test('openldap', { username: 'alice', password: 'alice-password' });
    await service.enable('openldap');
  });
  after(async () => {
    await service.close();
    await slapd.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a directory user the service account confirms, with their groups, a user_principals row and no tokens; asking again returns the same user', async () => {
    const carol = await service.ensureUserForPrincipal(principal('carol'));
    assert.equal(carol.username, 'carol');
    assert.equal(carol.displayName, 'Carol Danvers');
    assert.equal(carol.globalRole, 'user');
    assert.ok(carol.principalIds.includes(principal('carol')));
    assert.ok(carol.principalIds.includes(`openldap_group://${groupDn('loop-a')}`), 'groups resolved through the service account');
    const row = await store.db.selectFrom('user_principals').selectAll().where('principal_id', '=', principal('carol')).executeTakeFirstOrThrow();
    assert.equal(row.user_id, carol.id);
    assert.equal(row.provider, 'openldap');
    assert.equal(await tokensOf(carol.id), 0);
    assert.equal((await service.ensureUserForPrincipal(principal('carol'))).id, carol.id);
    assert.equal((await service.findUserByPrincipal(principal('carol')))?.id, carol.id);
  });

  it('the user\'s first login lands on the pre-created user, keeping its id (and so its bindings), and refreshes its groups', async () => {
    const frank = await service.ensureUserForPrincipal(principal('frank'));
    await slapd.addMember(groupDn('loop-b'), userDn('frank'));
    const login = await service.passwordLogin('openldap', { username: 'frank', password: 'frank-password', address: '10.0.0.1' });
    assert.equal(login.user.id, frank.id);
    assert.equal(login.user.username, 'frank');
    const me = await identity.authenticator.authenticate(login.value);
    assert.equal(me.id, frank.id);
    assert.ok(me.groups.includes(`openldap_group://${groupDn('loop-b')}`), 'groups as of the login');
    assert.equal((await store.db.selectFrom('user_principals').select('user_id').where('user_id', '=', frank.id).execute()).length, 1);
  });

  it('follows the first-login username clash rule: an existing local "bob" stays untouched, the directory bob gets a suffix', async () => {
    const local = await identity.users.create({ username: 'bob', password: 'correct horse battery' });
    const bob = await service.ensureUserForPrincipal(principal('bob'));
    assert.notEqual(bob.id, local.id);
    assert.match(bob.username, /^bob-[A-Za-z0-9]+$/);
    assert.equal((await identity.users.get('bob')).id, local.id);
  });

  it('refuses a DN the directory does not have, or outside the user base, with 404 and creates nobody', async () => {
    const before = await userCount();
    await refused(service.ensureUserForPrincipal(principal('nobody-here')), 'DRV_ERR_NOT_FOUND', /no such user/);
    await refused(service.ensureUserForPrincipal(`openldap_user://${serviceDn}`), 'DRV_ERR_NOT_FOUND', /user base DN/);
    await refused(service.ensureUserForPrincipal(`openldap_user://${groupDn('ops')}`), 'DRV_ERR_NOT_FOUND');
    assert.equal(await userCount(), before);
  });

  it('refuses local://, group, malformed and unknown-provider principals before asking any provider', async () => {
    const admin = await identity.users.create({ username: 'some-local', password: 'correct horse battery' });
    const before = await userCount();
    await refused(service.ensureUserForPrincipal(`local://${admin.id}`), 'DRV_ERR_UNPROCESSABLE', /local/);
    await refused(service.ensureUserForPrincipal(`openldap_group://${groupDn('ops')}`), 'DRV_ERR_UNPROCESSABLE', /user principal/);
    await refused(service.ensureUserForPrincipal('carol'), 'DRV_ERR_UNPROCESSABLE');
    await refused(service.ensureUserForPrincipal('nope_user://x'), 'DRV_ERR_UNPROCESSABLE', /not enabled/);
    await refused(service.findUserByPrincipal(`local://${admin.id}`), 'DRV_ERR_UNPROCESSABLE');
    assert.equal(await userCount(), before);
  });

  it('never creates a user for an unconfigured or disabled provider', async () => {
    const before = await userCount();
    await refused(service.ensureUserForPrincipal('activedirectory_user://cn=Dave Doe,ou=users,ou=ad,dc=example,dc=org'), 'DRV_ERR_UNPROCESSABLE', /not enabled/);
    await refused(service.ensureUserForPrincipal('github_user://42'), 'DRV_ERR_UNPROCESSABLE', /not enabled/);
    await service.disable('openldap');
    await refused(service.ensureUserForPrincipal(principal('alice')), 'DRV_ERR_UNPROCESSABLE', /not enabled/);
    assert.equal(await userCount(), before);
    assert.equal(await service.findUserByPrincipal(principal('alice')), undefined);
  });
});

describe('GitHub and OIDC confirm only users they can vouch for', () => {
  let gh: GitHubStandin;
  const redirectUri = 'https://drover.test/v1/auth/github/callback';
  before(async () => {
    gh = await startGitHubStandin();
    gh.setUser({ id: 42, login: 'octocat', name: 'Mona', orgs: [], teams: [] });
    gh.setUser({ id: 43, login: 'hubot', orgs: [], teams: [] });
  });
  after(async () => { await gh.stop(); });

  it('GitHub refuses without any stored credential (the user must log in once), then confirms by numeric id through the API', async () => {
    const provider = new GitHubProvider({ config: { hostname: gh.hostname, clientId: gh.clientId, clientSecret: gh.clientSecret, caPem: gh.caPem }, logger: silentLogger() });
    try {
      await refused(provider.confirmUser('github_user://43'), 'DRV_ERR_UNPROCESSABLE', /must log in once/);
      const start = await provider.startLogin(redirectUri);
      const steps = await playBrowser(start.authorizeUrl, { cas: [gh.caPem], fields: () => ({ login: 'octocat' }), stopAt: (url) => url.startsWith(redirectUri) });
      await provider.completeLogin(new URL(steps.at(-1)?.url ?? ''), start.pending);
      assert.deepEqual(await provider.confirmUser('github_user://43'), {
        state: 'found', identity: { user: { id: 'github_user://43', kind: 'user', provider: 'github', displayName: 'hubot', loginName: 'hubot' }, groups: [] },
      });
      assert.equal((await provider.confirmUser('github_user://99999')).state, 'gone');
      await refused(provider.confirmUser('github_user://octocat'), 'DRV_ERR_UNPROCESSABLE', /numeric id/);
      await refused(provider.confirmUser('github_user://1/../user'), 'DRV_ERR_UNPROCESSABLE');
    } finally {
      await provider.close();
    }
  });

  it('through the service: a GitHub user is created only once GitHub can be asked, and their first login lands on that user', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-add-by-principal-gh-'));
    const store = await openStore({ dataDir: dir });
    const identity = createIdentity({ store, logger: silentLogger() });
    const service = new ProviderService({ store, secrets: createSecretBox(randomBytes(32)), identity, logger: silentLogger(), publicUrl: 'https://drover.test' });
    try {
      await service.configure('github', { config: { hostname: gh.hostname, clientId: gh.clientId, clientSecret: gh.clientSecret, caPem: gh.caPem } });
      await service.recordTestLogin('github');
      await service.enable('github');
      await refused(service.ensureUserForPrincipal('github_user://43'), 'DRV_ERR_UNPROCESSABLE', /must log in once/);
      assert.equal((await identity.users.list()).length, 0);
      // octocat logs in: Drover now holds a GitHub token to ask with.
      const live = await service.get('github');
      assert.equal(live.style, 'redirect');
      if (live.style !== 'redirect') return;
      const start = await live.startLogin(redirectUri);
      const steps = await playBrowser(start.authorizeUrl, { cas: [gh.caPem], fields: () => ({ login: 'octocat' }), stopAt: (url) => url.startsWith(redirectUri) });
      await service.completeLogin('github', await live.completeLogin(new URL(steps.at(-1)?.url ?? ''), start.pending), { address: 'a' });
      const hubot = await service.ensureUserForPrincipal('github_user://43');
      assert.equal(hubot.username, 'hubot');
      await refused(service.ensureUserForPrincipal('github_user://99999'), 'DRV_ERR_NOT_FOUND');
      const second = await live.startLogin(redirectUri);
      const back = await playBrowser(second.authorizeUrl, { cas: [gh.caPem], fields: () => ({ login: 'hubot' }), stopAt: (url) => url.startsWith(redirectUri) });
      const result = await service.completeLogin('github', await live.completeLogin(new URL(back.at(-1)?.url ?? ''), second.pending), { address: 'a' });
      assert.equal(result.user.id, hubot.id);
    } finally {
      await service.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('OIDC confirms only a subject seen in an earlier login, and refuses any other with "must log in once"', async () => {
    const known = new KnownUsers();
    const provider = new OidcProvider({ config: { issuer: 'https://issuer.invalid', clientId: 'c', clientSecret: 's' }, logger: silentLogger(), credentials: known });
    try {
      await refused(provider.confirmUser('oidc_user://never-seen'), 'DRV_ERR_UNPROCESSABLE', /must log in once/);
      const seen = { user: { id: 'oidc_user://sub-1', kind: 'user' as const, provider: 'oidc' as const, displayName: 'Seen', loginName: 'seen' }, groups: [] };
      await known.save(seen);
      assert.deepEqual(await provider.confirmUser('oidc_user://sub-1'), { state: 'found', identity: seen });
    } finally {
      await provider.close();
    }
  });
});
