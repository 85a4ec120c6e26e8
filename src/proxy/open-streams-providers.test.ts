/**
 * In process: the provider paths end open streams. A real store and identity, the real
 * ExternalLogin and GroupRefresher (a scripted directory answers), the real
 * AccessService holding a group binding, and the proxy's OpenStreams wired as the
 * feature wires it. A group refresh that drops the group giving cluster access, a user
 * gone at the provider, and a provider's revocation (what `providers disable` calls)
 * each end the user's open stream on that cluster; streams of users who keep access stay.
 * So does removing a member from the project that was their only way into the cluster.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../logging/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { createIdentity, type Identity } from '../identity/index.ts';
import { ExternalLogin, GroupRefresher, type AccessPolicy, type AuthProvider, type RefreshResult, type VerifiedIdentity } from '../identity/index.ts';
import { AccessService } from '../access/index.ts';
import { checkClusterAccess, recheckAccess } from './chain.ts';
import { followAccessChanges, OpenStreams, type StreamOwner } from './open-streams.ts';

const devs = 'openldap_group://cn=devs,dc=x';
const person = (uid: string, groups: string[]): VerifiedIdentity => ({
  user: { id: `openldap_user://uid=${uid},dc=x`, kind: 'user', provider: 'openldap', displayName: uid, loginName: uid },
  groups: groups.map((g) => ({ id: `openldap_group://cn=${g},dc=x`, kind: 'group', provider: 'openldap', displayName: g })),
});

describe('provider and project changes end open streams (in process)', () => {
  let dir: string;
  let store: Store;
  let identity: Identity;
  let access: AccessService;
  let login: ExternalLogin;
  let streams: OpenStreams;
  let unfollow: () => void;
  let clusterId: string;
  const answers = new Map<string, RefreshResult>();
  const policy: AccessPolicy = { enabled: true, accessMode: 'unrestricted', allowedPrincipals: [] };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drover-streams-providers-'));
    store = await openStore({ dataDir: dir });
    identity = createIdentity({ store, logger: silentLogger() });
    login = new ExternalLogin({ store, tokens: identity.tokens, invalidator: identity.authenticator, policyOf: () => Promise.resolve(policy) });
    access = new AccessService(store.db, silentLogger());
    clusterId = 'c-streams';
    const now = new Date().toISOString();
    await store.db.insertInto('clusters').values({
      id: clusterId, name: 'streams', display_name: 'streams', state: 'active', state_reason: '', registration_digest: 'd-streams',
      registration_expires_at: null, previous_digest: null, previous_valid_until: null, api_server: null, ca_pem: null,
      kubernetes_version: null, node_count: null, capacity: null, tunnel: null, last_seen_at: null, created_at: now, updated_at: now,
    }).execute();
    await access.addBinding({ clusterId, roleTemplate: 'cluster-member', subject: { kind: 'group', principalId: devs } });
    // Wired as createProxyFeature wires it (periodic pass off: only the events are under test).
    streams = new OpenStreams({ recheck: recheckAccess({ authenticator: identity.authenticator, membership: access }), logger: silentLogger(), intervalMs: 3_600_000 });
    unfollow = followAccessChanges(streams, { tokens: identity.authenticator, membership: access });
  });
  after(async () => {
    unfollow();
    streams.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Logs a directory user in and opens a stream on the cluster as the chain would; resolves `ended` with the reason. */
  const openAs = async (uid: string, groups: string[]): Promise<{ ended: () => string | undefined }> => {
    const session = await login.complete('openldap', person(uid, groups), { address: '127.0.0.1' });
    const credential = `Bearer ${session.value}`;
    const user = await identity.authenticator.authenticate(credential);
    await checkClusterAccess(access, user, clusterId);
    const owner: StreamOwner = { clusterId, user, credential };
    let why: string | undefined;
    streams.open(owner, (error) => { why = error.message; });
    return { ended: () => why };
  };
  const refresher = (): GroupRefresher => new GroupRefresher({
    store, login, logger: silentLogger(), intervalMs: 3_600_000,
    source: {
      enabledProviders: () => Promise.resolve([{
        name: 'openldap', policy,
        provider: {
          name: 'openldap', style: 'password',
          refresh: (id: string) => Promise.resolve(answers.get(id) ?? { state: 'found', identity: person(id.replace(/^openldap_user:\/\/uid=|,dc=x$/g, ''), ['devs']) }),
          search: () => Promise.resolve([]), close: () => Promise.resolve(),
          authenticate: () => Promise.reject(new Error('unused')), confirmUser: () => Promise.reject(new Error('unused')),
        } satisfies AuthProvider,
      }]),
    },
  });
  const until = async (what: string, ok: () => boolean): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!ok()) {
      if (Date.now() > deadline) assert.fail(`${what} did not happen`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it('a group refresh that drops the group giving cluster access ends the stream; one that keeps it does not', async () => {
    const leaver = await openAs('leaver', ['devs']);
    const stayer = await openAs('stayer', ['devs']);
    answers.set(person('leaver', []).user.id, { state: 'found', identity: person('leaver', ['marketing']) });
    await refresher().runOnce();
    await until('the leaver\'s stream to end', () => leaver.ended() !== undefined);
    assert.match(leaver.ended() ?? '', /access to cluster c-streams ended while this stream was open: you are not a member of cluster c-streams/);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(stayer.ended(), undefined);
  });

  it('a user gone at the provider, and a provider\'s revocation of its users\' tokens (providers disable), end their streams', async () => {
    const gone = await openAs('gone', ['devs']);
    answers.set(person('gone', []).user.id, { state: 'gone', reason: 'deleted in the directory' });
    await refresher().runOnce();
    await until('the gone user\'s stream to end', () => gone.ended() !== undefined);
    assert.match(gone.ended() ?? '', /invalid or revoked token/);

    const disabled = await openAs('disabled', ['devs']);
    const userId = (await login.findByPrincipal(person('disabled', []).user.id))?.id ?? '';
    // ProviderService.disable revokes through this very call after turning the provider off.
    await login.revokeTokens([userId]);
    await until('the disabled provider\'s user\'s stream to end', () => disabled.ended() !== undefined);
  });

  it('removing a member from the only project that gave them the cluster ends their stream', async () => {
    const user = await identity.users.create({ username: 'project-only', password: 'a-password-long-enough' });
    const project = await access.createProject(clusterId, 'web');
    const binding = await access.addBinding({ clusterId, projectId: project.id, roleTemplate: 'project-member', subject: { kind: 'user', userId: user.id } });
    const issued = await identity.tokens.issue({ userId: user.id, kind: 'session', authProvider: 'local' });
    const credential = `Bearer ${issued.value}`;
    const me = await identity.authenticator.authenticate(credential);
    await checkClusterAccess(access, me, clusterId);
    let why: string | undefined;
    streams.open({ clusterId, user: me, credential }, (error) => { why = error.message; });
    await access.removeBindings(clusterId, [binding.id]);
    await until('the project member\'s stream to end', () => why !== undefined);
    assert.match(why ?? '', /you are not a member of cluster c-streams/);
  });

  it('removing one of two project bindings ends the streams opened under them, though the other keeps the user a member', async () => {
    const user = await identity.users.create({ username: 'two-projects', password: 'a-password-long-enough' });
    const [web, other] = [await access.createProject(clusterId, 'web-2'), await access.createProject(clusterId, 'other')];
    const inWeb = await access.addBinding({ clusterId, projectId: web.id, roleTemplate: 'project-member', subject: { kind: 'user', userId: user.id } });
    await access.addBinding({ clusterId, projectId: other.id, roleTemplate: 'project-member', subject: { kind: 'user', userId: user.id } });
    const issued = await identity.tokens.issue({ userId: user.id, kind: 'session', authProvider: 'local' });
    const credential = `Bearer ${issued.value}`;
    const me = await identity.authenticator.authenticate(credential);
    await checkClusterAccess(access, me, clusterId);
    let why: string | undefined;
    streams.open({ clusterId, user: me, credential, accessEpoch: access.accessEpoch() }, (error) => { why = error.message; });
    await access.removeBindings(clusterId, [inWeb.id]);
    await until('the stream opened before the removal to end', () => why !== undefined);
    assert.match(why ?? '', /a role you held in this cluster when this stream was opened was removed or changed/);
    // Opened after the removal, a stream is judged by the bindings left: it stays.
    let later: string | undefined;
    streams.open({ clusterId, user: me, credential, accessEpoch: access.accessEpoch() }, (error) => { later = error.message; });
    streams.accessChanged({ kind: 'cluster', clusterId });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(later, undefined);
  });
});
