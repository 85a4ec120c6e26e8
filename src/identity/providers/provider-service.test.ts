import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupDn, groupsDn, peopleDn, serviceDn, servicePassword, startSlapd, userDn, type Slapd } from '../../../test/testenv/slapd.ts';
import { DroverError } from '../../errors/index.ts';
import { silentLogger } from '../../logging/index.ts';
import { createSecretBox, openStore, type Store } from '../../store/index.ts';
import { createIdentity, type Identity } from '../index.ts';
import { ExternalLogin, type AccessPolicy } from './external-login.ts';
import { GroupRefresher } from './group-refresher.ts';
import { ProviderService } from './provider-service.ts';
import type { AuthProvider, RefreshResult, VerifiedIdentity } from './types.ts';
import { refusal } from '../../testing/index.ts';

const ldapUser = (uid: string, groups: string[] = [], loginName = uid): VerifiedIdentity => ({
  user: { id: `openldap_user://uid=${uid},dc=x`, kind: 'user', provider: 'openldap', displayName: uid, loginName },
  groups: groups.map((g) => ({ id: `openldap_group://cn=${g},dc=x`, kind: 'group', provider: 'openldap', displayName: g })),
});

describe('provider core', () => {
  let dir: string;
  let store: Store;
  let identity: Identity;
  let policy: AccessPolicy;
  let login: ExternalLogin;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drover-providers-'));
    store = await openStore({ dataDir: dir });
    identity = createIdentity({ store, logger: silentLogger() });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    policy = { enabled: true, accessMode: 'unrestricted', allowedPrincipals: [] };
    login = new ExternalLogin({ store, tokens: identity.tokens, invalidator: identity.authenticator, policyOf: () => Promise.resolve(policy) });
  });

  describe('completeExternalLogin', () => {
    it('creates the user on first login, with the provider as the token\'s auth provider and the groups as principals', async () => {
      const result = await login.complete('openldap', ldapUser('first', ['ops', 'eng']), { address: '127.0.0.1' });
      assert.equal(result.user.username, 'first');
      assert.deepEqual(result.user.principalIds, [`local://${result.user.id}`, 'openldap_user://uid=first,dc=x', 'openldap_group://cn=eng,dc=x', 'openldap_group://cn=ops,dc=x']);
      assert.equal(result.token.authProvider, 'openldap');
      const me = await identity.authenticator.authenticate(result.value);
      assert.deepEqual(me.groups, ['openldap_group://cn=eng,dc=x', 'openldap_group://cn=ops,dc=x']);
      assert.equal(me.provider, 'openldap');
    });

    it('finds the same user on the second login even when the login name changed, and replaces the groups', async () => {
      const one = await login.complete('openldap', ldapUser('renamed', ['ops']), { address: 'a' });
      const two = await login.complete('openldap', ldapUser('renamed', ['platform'], 'new-name'), { address: 'a' });
      assert.equal(two.user.id, one.user.id);
      assert.equal(two.user.username, 'renamed');
      const me = await identity.authenticator.authenticate(one.value);
      assert.deepEqual(me.groups, ['openldap_group://cn=platform,dc=x']);
    });

    it('never maps another provider\'s principal, or a clashing username, to an existing user', async () => {
      const local = await identity.users.create({ username: 'mallory', password: 'correct horse battery' });
      const viaLdap = await login.complete('openldap', ldapUser('mallory'), { address: 'a' });
      assert.notEqual(viaLdap.user.id, local.id);
      assert.match(viaLdap.user.username, /^mallory-/);
      const viaAd = await login.complete('activedirectory', {
        user: { id: 'activedirectory_user://uid=mallory,dc=x', kind: 'user', provider: 'activedirectory', displayName: 'm', loginName: 'mallory' }, groups: [],
      }, { address: 'a' });
      assert.notEqual(viaAd.user.id, viaLdap.user.id);
      assert.notEqual(viaAd.user.id, local.id);
    });

    it('refuses an identity carrying another provider\'s principals', async () => {
      const forged = { ...ldapUser('x'), groups: [{ id: 'github_team://1', kind: 'group' as const, provider: 'openldap' as const, displayName: 't' }] };
      assert.equal((await refusal(login.complete('openldap', forged, { address: 'a' }))).status, 500);
      const local = { user: { id: 'local://u-admin', kind: 'user' as const, provider: 'openldap' as const, displayName: 'x' }, groups: [] };
      assert.equal((await refusal(login.complete('openldap', local, { address: 'a' }))).status, 500);
    });

    it('restricted access: lets in listed users or members of listed groups, nobody else', async () => {
      policy = { enabled: true, accessMode: 'restricted', allowedPrincipals: ['openldap_group://cn=ops,dc=x', 'openldap_user://uid=vip,dc=x'] };
      await login.complete('openldap', ldapUser('member', ['ops']), { address: 'a' });
      await login.complete('openldap', ldapUser('vip'), { address: 'a' });
      assert.equal((await refusal(login.complete('openldap', ldapUser('outsider', ['dev']), { address: 'a' }))).code, 'DRV_ERR_FORBIDDEN');
    });

    it('refuses logins through a disabled provider and for a disabled user', async () => {
      const made = await login.complete('openldap', ldapUser('tobedisabled'), { address: 'a' });
      await identity.users.setEnabled(made.user.id, false);
      assert.equal((await refusal(login.complete('openldap', ldapUser('tobedisabled'), { address: 'a' }))).code, 'DRV_ERR_USER_DISABLED');
      policy = { ...policy, enabled: false };
      assert.equal((await refusal(login.complete('openldap', ldapUser('other'), { address: 'a' }))).code, 'DRV_ERR_UNAUTHENTICATED');
    });
  });

  describe('GroupRefresher', () => {
    const scripted = (answers: Map<string, RefreshResult | Error>): AuthProvider => ({
      name: 'openldap', style: 'password',
      refresh: (id: string) => {
        const a = answers.get(id);
        return a instanceof Error || a === undefined ? Promise.reject(a ?? new Error('unknown')) : Promise.resolve(a);
      },
      search: () => Promise.resolve([]), close: () => Promise.resolve(), authenticate: () => Promise.reject(new Error('unused')),
      confirmUser: () => Promise.reject(new Error('unused')),
    });
    const refresher = (answers: Map<string, RefreshResult | Error>): GroupRefresher => new GroupRefresher({
      store, login, logger: silentLogger(), intervalMs: 60_000,
      source: { enabledProviders: () => Promise.resolve([{ name: 'openldap', provider: scripted(answers), policy }]) },
    });

    it('rewrites groups, revokes the tokens of users gone at the provider, and keeps the last groups when the provider fails', async () => {
      const stays = await login.complete('openldap', ldapUser('r-stays', ['ops']), { address: 'a' });
      const gone = await login.complete('openldap', ldapUser('r-gone', ['ops']), { address: 'a' });
      const flaky = await login.complete('openldap', ldapUser('r-flaky', ['ops']), { address: 'a' });
      const answers = new Map<string, RefreshResult | Error>([
        [ldapUser('r-stays').user.id, { state: 'found', identity: ldapUser('r-stays', ['platform']) }],
        [ldapUser('r-gone').user.id, { state: 'gone', reason: 'deleted' }],
        [ldapUser('r-flaky').user.id, new DroverError('DRV_ERR_PROVIDER_UNAVAILABLE', 'down')],
      ]);
      const outcome = await refresher(answers).runOnce();
      assert.ok(outcome.refreshed >= 1 && outcome.revoked >= 1 && outcome.failed >= 1, JSON.stringify(outcome));
      assert.deepEqual((await identity.authenticator.authenticate(stays.value)).groups, ['openldap_group://cn=platform,dc=x']);
      assert.equal((await refusal(identity.authenticator.authenticate(gone.value))).code, 'DRV_ERR_UNAUTHENTICATED');
      assert.deepEqual((await identity.authenticator.authenticate(flaky.value)).groups, ['openldap_group://cn=ops,dc=x']);
    });

    it('refuses a refresh answer about another principal, and revokes a user no longer allowed', async () => {
      const victim = await login.complete('openldap', ldapUser('r-victim', ['ops']), { address: 'a' });
      const answers = new Map<string, RefreshResult | Error>([
        [ldapUser('r-victim').user.id, { state: 'found', identity: ldapUser('someone-else', ['admins']) }],
      ]);
      await refresher(answers).runOnce();
      assert.deepEqual((await identity.authenticator.authenticate(victim.value)).groups, ['openldap_group://cn=ops,dc=x']);
      policy = { enabled: true, accessMode: 'restricted', allowedPrincipals: ['openldap_group://cn=ops,dc=x'] };
      answers.set(ldapUser('r-victim').user.id, { state: 'found', identity: ldapUser('r-victim', ['dev']) });
      await refresher(answers).runOnce();
      assert.equal((await refusal(identity.authenticator.authenticate(victim.value))).code, 'DRV_ERR_UNAUTHENTICATED');
    });
  });

  describe('ProviderService with a real slapd', () => {
    let slapd: Slapd;
    let service: ProviderService;
    const config = (): Record<string, unknown> => ({
      url: slapd.url, startTls: true, caPem: slapd.caPem, bindDn: serviceDn, bindPassword: servicePassword, userBaseDn: peopleDn, groupBaseDn: groupsDn,
    });
    before(async () => {
      slapd = await startSlapd();
      service = new ProviderService({ store, secrets: createSecretBox(randomBytes(32)), identity, logger: silentLogger(), publicUrl: 'https://drover.test', sleep: () => Promise.resolve() });
    });
    after(async () => {
      await service.close();
      await slapd.stop();
    });

    it('validates, stores the bind password encrypted, never returns it, and enables only a tested configuration', async () => {
      assert.equal((await refusal(service.configure('openldap', { config: { ...config(), extra: 1 } }))).code, 'DRV_ERR_UNPROCESSABLE');
      assert.equal((await refusal(service.configure('nope', { config: config() }))).code, 'DRV_ERR_NOT_FOUND');
      assert.equal((await refusal(service.configure('openldap', { config: config(), accessMode: 'restricted' }))).code, 'DRV_ERR_UNPROCESSABLE');
      assert.equal((await refusal(service.configure('openldap', { config: config(), allowedPrincipals: ['github_team://1'] }))).code, 'DRV_ERR_UNPROCESSABLE');
      const view = await service.configure('openldap', { config: config() });
      assert.equal(view.config.bindPassword, undefined);
      assert.deepEqual(view.secretsSet, ['bindPassword']);
      const stored = await store.db.selectFrom('secrets').select('ciphertext').where('name', '=', 'provider/openldap').executeTakeFirstOrThrow();
      assert.ok(!stored.ciphertext.includes(servicePassword));
      const row = await store.db.selectFrom('auth_providers').select('config').where('name', '=', 'openldap').executeTakeFirstOrThrow();
      assert.ok(!row.config.includes(servicePassword));
      assert.equal((await refusal(service.enable('openldap'))).code, 'DRV_ERR_CONFLICT');
      assert.equal((await refusal(service.passwordLogin('openldap', { username: 'alice', password: 'alice-password', address: 'x' }))).code, 'DRV_ERR_UNPROCESSABLE');
      assert.equal((await refusal(service.test('openldap', { username: 'alice', password: 'wrong' }))).code, 'DRV_ERR_UNAUTHENTICATED');
      assert.equal((await service.test('openldap', { username: 'alice', password: 'alice-password' })).groups.length, 3);
      // Changing the configuration (secret left out: kept) needs a new test.
      await service.configure('openldap', { config: { ...config(), bindPassword: undefined, maxNestingDepth: 3 } });
      assert.equal((await refusal(service.enable('openldap'))).code, 'DRV_ERR_CONFLICT');
      await service.test('openldap', { username: 'alice', password: 'alice-password' });
      assert.equal((await service.enable('openldap')).enabled, true);
      assert.deepEqual((await service.publicList()).map((p) => p.name), ['openldap']);
    });

    it('keeps serving an enabled provider while a changed configuration waits as pending; enable promotes it only once tested, logging nobody out', async () => {
      const before = await service.passwordLogin('openldap', { username: 'alice', password: 'alice-password', address: '10.0.0.2' });
      // A broken change (wrong bind password) is stored as pending and serves nothing.
      const broken = await service.configure('openldap', { config: { ...config(), bindPassword: 'not-the-password' } });
      assert.equal(broken.enabled, true);
      assert.equal(broken.pending?.tested, false);
      assert.equal(broken.config.maxNestingDepth, 3, 'the current configuration is unchanged');
      await service.passwordLogin('openldap', { username: 'alice', password: 'alice-password', address: '10.0.0.2' });
      await refusal(service.test('openldap', { username: 'alice', password: 'alice-password' }));
      assert.equal((await refusal(service.enable('openldap'))).code, 'DRV_ERR_CONFLICT');
      // A working change: tested, then promoted; the session from before still works.
      const fixed = await service.configure('openldap', { config: { ...config(), maxNestingDepth: 4 }, accessMode: 'restricted', allowedPrincipals: [`openldap_group://${groupDn('engineering')}`] });
      assert.equal(fixed.pending?.tested, false);
      assert.equal(fixed.accessMode, 'unrestricted', 'the pending access mode applies only when promoted');
      await service.test('openldap', { username: 'alice', password: 'alice-password' });
      assert.equal((await service.list()).find((p) => p.name === 'openldap')?.pending?.tested, true);
      const promoted = await service.enable('openldap');
      assert.equal(promoted.pending, undefined);
      assert.equal(promoted.config.maxNestingDepth, 4);
      assert.equal(promoted.accessMode, 'restricted');
      assert.equal(promoted.tested, true);
      assert.ok(await identity.authenticator.authenticate(before.value));
      assert.equal(await store.db.selectFrom('secrets').select('name').where('name', '=', 'provider-pending/openldap').executeTakeFirst(), undefined);
      assert.ok((await service.passwordLogin('openldap', { username: 'alice', password: 'alice-password', address: '10.0.0.2' })).value);
      // Back to the plain settings (directly: configuring a disabled provider replaces its configuration).
      await service.disable('openldap');
      await service.configure('openldap', { config: config(), accessMode: 'unrestricted', allowedPrincipals: [] });
      await service.test('openldap', { username: 'alice', password: 'alice-password' });
      await service.enable('openldap');
    });

    it('logs in through the enabled provider, searches principals, and disabling revokes the users\' tokens', async () => {
      const result = await service.passwordLogin('openldap', { username: 'alice', password: 'alice-password', address: '10.0.0.1' });
      const me = await identity.authenticator.authenticate(result.value);
      assert.ok(me.groups.includes(`openldap_group://${groupDn('engineering')}`));
      const found = await service.search('engineer', 10);
      assert.ok(found.some((p) => p.id === `openldap_group://${groupDn('engineering')}`));
      assert.ok((await service.search('alice', 10)).some((p) => p.id === `openldap_user://${userDn('alice')}`));
      await store.db.insertInto('provider_credentials').values({ principal_id: 'openldap_user://x', provider: 'openldap', identity: '{}', secret: 'v1:x', updated_at: 'now' }).execute();
      await service.disable('openldap');
      assert.equal((await refusal(identity.authenticator.authenticate(result.value))).code, 'DRV_ERR_UNAUTHENTICATED');
      assert.equal(await store.db.selectFrom('provider_credentials').select('principal_id').where('provider', '=', 'openldap').executeTakeFirst(), undefined, 'stored credentials are forgotten');
      assert.equal((await refusal(service.passwordLogin('openldap', { username: 'alice', password: 'alice-password', address: 'x' }))).code, 'DRV_ERR_UNPROCESSABLE');
    });

    it('throttles provider password logins like local ones', async () => {
      await service.enable('openldap');
      for (let i = 0; i < 10; i++) await refusal(service.passwordLogin('openldap', { username: 'bob', password: 'nope', address: '10.9.9.9' }));
      const e = await refusal(service.passwordLogin('openldap', { username: 'bob', password: 'bob-password', address: '10.9.9.9' }));
      assert.equal(e.code, 'DRV_ERR_TOO_MANY_REQUESTS');
      // The directory matches names without case or surrounding and repeated spaces: so does the lock.
      for (const spelling of [' bob', 'bob ', 'BOB', '\tbob', 'ｂｏｂ']) {
        const again = await refusal(service.passwordLogin('openldap', { username: spelling, password: 'bob-password', address: '10.9.9.8' }));
        assert.equal(again.code, 'DRV_ERR_TOO_MANY_REQUESTS', JSON.stringify(spelling));
      }
    });
  });
});
