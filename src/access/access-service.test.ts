import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserService, type AuthenticatedUser } from '../identity/index.ts';
import { silentLogger } from '../logging/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { AccessService } from './access-service.ts';
import { assertCanGrant, canManageMembers } from './escalation-guard.ts';
import { followUserChanges } from './feature.ts';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

async function setup(): Promise<{ store: Store; access: AccessService; clusterId: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-access-'));
  dirs.push(dir);
  const store = await openStore({ dataDir: dir });
  const clusterId = 'c-test1';
  const now = new Date().toISOString();
  await store.db.insertInto('clusters').values({
    id: clusterId, name: 'test', display_name: 'test', state: 'pending', state_reason: '', registration_digest: `d-${Math.random()}`,
    registration_expires_at: null, previous_digest: null, previous_valid_until: null, api_server: null, ca_pem: null,
    kubernetes_version: null, node_count: null, capacity: null, tunnel: null, last_seen_at: null, created_at: now, updated_at: now,
  }).execute();
  return { store, access: new AccessService(store.db, silentLogger()), clusterId };
}

const user = (id: string, extra: Partial<AuthenticatedUser> = {}): AuthenticatedUser => ({
  id, username: id, displayName: id, provider: 'local', principalIds: [`local://${id}`], groups: [], globalRole: 'user', token: { id: 'token-x' }, ...extra,
});

describe('AccessService', () => {
  it('keeps projects, bindings and custom templates across a restart', async () => {
    const { store, access, clusterId } = await setup();
    await access.ensureDefaultProjects(clusterId);
    await access.ensureDefaultProjects(clusterId);
    const web = await access.createProject(clusterId, 'web');
    await access.createRoleTemplate({ name: 'pod-reader', displayName: 'Pod reader', description: '', context: 'project', rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }], inherits: [], locked: false });
    await access.addBinding({ clusterId, projectId: web.id, roleTemplate: 'pod-reader', subject: { kind: 'user', userId: 'u-alice' } });
    const reopened = new AccessService(store.db, silentLogger());
    assert.deepEqual((await reopened.listProjects(clusterId)).map((p) => p.name), ['Default', 'System', 'web']);
    assert.equal((await reopened.projectBindings(clusterId, web.id)).length, 1);
    assert.ok((await reopened.catalog()).get('pod-reader'));
    assert.equal(await reopened.canAccessCluster(user('u-alice'), clusterId), true);
    await store.close();
  });

  it('answers membership from memory: direct users, group principals, admins, and nobody else', async () => {
    const { store, access, clusterId } = await setup();
    await access.addBinding({ clusterId, roleTemplate: 'cluster-member', subject: { kind: 'group', principalId: 'github_team://7' } });
    assert.equal(await access.canAccessCluster(user('u-bob', { groups: ['github_team://7'] }), clusterId), true);
    assert.equal(await access.canAccessCluster(user('u-eve', { groups: ['github_team://8'] }), clusterId), false);
    // A principal id is not a group: a user whose principal happens to equal the group string gets nothing.
    assert.equal(await access.canAccessCluster(user('u-eve', { principalIds: ['github_team://7'] }), clusterId), false);
    assert.equal(await access.canAccessCluster(user('u-root', { globalRole: 'admin' }), clusterId), true);
    assert.deepEqual(await access.visibleClusterIds(user('u-bob', { groups: ['github_team://7'] })), new Set([clusterId]));
    assert.deepEqual(await access.visibleClusterIds(user('u-eve')), new Set());
    const [binding] = await access.clusterBindings(clusterId);
    await access.removeBindings(clusterId, [binding?.id ?? '']);
    assert.equal(await access.canAccessCluster(user('u-bob', { groups: ['github_team://7'] }), clusterId), false);
    await store.close();
  });

  it('answers membership without a promise once loaded (the proxy\'s hot path), with the same verdicts, and nothing before', async () => {
    const { store, access, clusterId } = await setup();
    const fresh = new AccessService(store.db, silentLogger());
    assert.equal(fresh.canAccessClusterNow(user('u-bob', { groups: ['github_team://7'] }), clusterId), undefined, 'not loaded yet: canAccessCluster decides');
    assert.equal(fresh.canAccessClusterNow(user('u-root', { globalRole: 'admin' }), clusterId), true);
    await access.addBinding({ clusterId, roleTemplate: 'cluster-member', subject: { kind: 'group', principalId: 'github_team://7' } });
    await access.addBinding({ clusterId, roleTemplate: 'cluster-member', subject: { kind: 'user', userId: 'u-alice' } });
    assert.equal(access.canAccessClusterNow(user('u-bob', { groups: ['github_team://7'] }), clusterId), true);
    assert.equal(access.canAccessClusterNow(user('u-alice'), clusterId), true);
    assert.equal(access.canAccessClusterNow(user('u-alice'), 'c-other'), false, 'a member of one cluster only');
    assert.equal(access.canAccessClusterNow(user('u-eve', { groups: ['github_team://8'] }), clusterId), false);
    // The user and group namespaces never mix: an id spelled like the bound group, or a group spelled like a bound user key.
    assert.equal(access.canAccessClusterNow(user('github_team://7'), clusterId), false);
    assert.equal(access.canAccessClusterNow(user('u-eve', { groups: ['u-alice', 'user:u-alice'] }), clusterId), false);
    const [binding] = await access.clusterBindings(clusterId);
    await access.removeBindings(clusterId, [binding?.id ?? '']);
    assert.equal(access.canAccessClusterNow(user('u-bob', { groups: ['github_team://7'] }), clusterId), false, 'a removed binding counts at once');
    await store.close();
  });

  it('refuses locked templates, wrong contexts, duplicates, system groups, and deleting templates in use', async () => {
    const { store, access, clusterId } = await setup();
    await access.createRoleTemplate({ name: 'frozen', displayName: 'f', description: '', context: 'cluster', rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }], inherits: [], locked: true });
    await assert.rejects(access.addBinding({ clusterId, roleTemplate: 'frozen', subject: { kind: 'user', userId: 'u-a' } }), { code: 'DRV_ERR_ROLE_TEMPLATE_LOCKED' });
    await assert.rejects(access.addBinding({ clusterId, roleTemplate: 'project-member', subject: { kind: 'user', userId: 'u-a' } }), { code: 'DRV_ERR_UNPROCESSABLE' });
    await assert.rejects(access.addBinding({ clusterId, roleTemplate: 'cluster-member', subject: { kind: 'group', principalId: 'system:masters' } }), { code: 'DRV_ERR_INVALID_ARGUMENT' });
    await access.addBinding({ clusterId, roleTemplate: 'cluster-member', subject: { kind: 'user', userId: 'u-a' } });
    await assert.rejects(access.addBinding({ clusterId, roleTemplate: 'cluster-member', subject: { kind: 'user', userId: 'u-a' } }), { code: 'DRV_ERR_CONFLICT' });
    await access.createRoleTemplate({ name: 'used', displayName: 'u', description: '', context: 'cluster', rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }], inherits: [], locked: false });
    await access.addBinding({ clusterId, roleTemplate: 'used', subject: { kind: 'user', userId: 'u-a' } });
    await assert.rejects(access.deleteRoleTemplate('used'), { code: 'DRV_ERR_CONFLICT' });
    await assert.rejects(access.deleteRoleTemplate('cluster-owner'), { code: 'DRV_ERR_CONFLICT' });
    await assert.rejects(access.createRoleTemplate({ name: 'loop', displayName: 'l', description: '', context: 'cluster', rules: [], inherits: ['loop'], locked: false }), { code: 'DRV_ERR_UNPROCESSABLE' });
    await store.close();
  });

  it('lets a project owner manage the project\'s members but never grant cluster-owner or what they lack', async () => {
    const { store, access, clusterId } = await setup();
    const web = await access.createProject(clusterId, 'web');
    await access.addBinding({ clusterId, projectId: web.id, roleTemplate: 'project-owner', subject: { kind: 'user', userId: 'u-po' } });
    const rules = await access.rulesOf(user('u-po'), { clusterId, projectId: web.id });
    const catalog = await access.catalog();
    assert.equal(canManageMembers(rules, 'project'), true);
    assert.equal(canManageMembers(rules, 'cluster'), false);
    assert.doesNotThrow(() => assertCanGrant(catalog, rules, 'project-member', 'project'));
    assert.throws(() => assertCanGrant(catalog, rules, 'cluster-owner', 'cluster'), { code: 'DRV_ERR_PRIVILEGE_ESCALATION' });
    // Rules held on one project do not carry to another.
    const other = await access.createProject(clusterId, 'other');
    assert.equal(canManageMembers(await access.rulesOf(user('u-po'), { clusterId, projectId: other.id }), 'project'), false);
    await store.close();
  });

  it('keeps the set of enabled global admins from every user change, telling listeners only when the set changed', async () => {
    const { store } = await setup();
    const users = new UserService({ store, clock: Date.now, invalidator: { invalidateToken: () => undefined, invalidateUser: () => undefined } });
    const root = await users.create({ username: 'root', globalRole: 'admin' });
    const off = await users.create({ username: 'off', globalRole: 'admin' });
    await users.setEnabled(off.id, false);
    const plain = await users.create({ username: 'plain' });
    // Loaded once from the store: enabled admins only.
    const access = new AccessService(store.db, silentLogger());
    assert.deepEqual(await access.globalAdmins(), [root.id]);
    const heard: Array<string | undefined> = [];
    access.onChange((c) => heard.push(c));
    const unfollow = followUserChanges(users, access, silentLogger());
    const settle = (): Promise<string[]> => new Promise((r) => setImmediate(r)).then(() => access.globalAdmins());

    await users.setGlobalRole(plain.id, 'admin');
    assert.deepEqual(await settle(), [plain.id, root.id].sort());
    await users.setEnabled(off.id, true);
    assert.deepEqual(await settle(), [off.id, plain.id, root.id].sort());
    await users.setGlobalRole(root.id, 'user');
    await users.setEnabled(plain.id, false);
    await users.delete(off.id);
    assert.deepEqual(await settle(), []);
    const created = await users.create({ username: 'newadmin', globalRole: 'admin' });
    await users.create({ username: 'newuser' });
    assert.deepEqual(await settle(), [created.id]);
    // Changes that leave the set as it was (a plain user created, disabled or deleted) tell nobody.
    const before = heard.length;
    await users.setEnabled(created.id, true);
    await users.delete('newuser');
    await settle();
    assert.equal(heard.length, before);
    assert.ok(heard.every((c) => c === undefined), 'an admin change concerns every cluster');
    assert.equal(heard.length, 6);
    unfollow();
    await users.setGlobalRole(created.id, 'user');
    assert.deepEqual(await settle(), [created.id], 'unfollowed: no more changes');
    await store.close();
  });
});

describe('AccessService on several replicas', () => {
  it('publishes every write, and another replica re-reads what it names, telling its listeners only of what differs', async () => {
    const { store, clusterId } = await setup();
    const published: unknown[] = [];
    const one = new AccessService(store.db, silentLogger(), { publish: (e) => { published.push(e); } });
    const other = new AccessService(store.db, silentLogger());
    await other.whenReady();
    const heard: Array<string | undefined> = [];
    other.onChange((c) => heard.push(c));
    const alice = user('u-alice');

    const binding = await one.addBinding({ clusterId, roleTemplate: 'cluster-member', subject: { kind: 'user', userId: alice.id } });
    assert.deepEqual(published, [{ table: 'bindings', key: clusterId }]);
    assert.equal(await other.canAccessCluster(alice, clusterId), false, 'not re-read yet');
    await other.reloadCluster(clusterId);
    assert.equal(await other.canAccessCluster(alice, clusterId), true);
    assert.deepEqual(heard, [clusterId]);

    await other.reloadCluster(clusterId);
    await other.reloadAll();
    assert.deepEqual(heard, [clusterId], 're-reading what did not change tells nobody');

    await one.removeBindings(clusterId, [binding.id]);
    await other.reloadAll();
    assert.equal(await other.canAccessCluster(alice, clusterId), false, 'the safety-net re-read takes the removal too');
    assert.deepEqual(heard, [clusterId, clusterId]);

    await one.createRoleTemplate({ name: 'reader', displayName: 'Reader', description: '', context: 'cluster', rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }], inherits: [], locked: false });
    assert.deepEqual(published.at(-1), { table: 'role_templates', key: 'reader' });
    await other.reloadAll();
    assert.ok((await other.catalog()).get('reader'));
    assert.deepEqual(heard.at(-1), undefined, 'a catalog change concerns every cluster');
  });

  it('a re-read that overlaps a write made here never puts back what the write replaced', async () => {
    const { store, clusterId } = await setup();
    // The re-read's bindings query runs, then its answer is held until the write below has
    // committed and updated memory (held after the query, so the connection is free for the write).
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => { release = r; });
    let heldNow: () => void = () => undefined;
    const readHeld = new Promise<void>((r) => { heldNow = r; });
    let armed = false;
    type Builder = { execute: () => Promise<unknown> } & Record<string | symbol, unknown>;
    const holdAnswer = (builder: Builder): Builder => new Proxy(builder, {
      get(target, prop) {
        const value = target[prop];
        if (typeof value !== 'function') return value;
        if (prop === 'execute') {
          return async () => {
            const rows = await target.execute();
            if (armed) {
              armed = false;
              heldNow();
              await gate;
            }
            return rows;
          };
        }
        return (...args: unknown[]) => {
          const out = (value as (...a: unknown[]) => unknown).apply(target, args);
          return typeof out === 'object' && out !== null && 'execute' in out ? holdAnswer(out as Builder) : out;
        };
      },
    });
    const db = new Proxy(store.db, {
      get(target, prop) {
        if (prop === 'selectFrom') {
          return (table: 'cluster_role_bindings') => {
            const builder = target.selectFrom(table);
            return table === 'cluster_role_bindings' ? holdAnswer(builder as unknown as Builder) : builder;
          };
        }
        const value = (target as unknown as Record<string | symbol, unknown>)[prop];
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const access = new AccessService(db, silentLogger());
    await access.whenReady();
    const alice = user('u-alice');
    armed = true;
    const reading = access.reloadCluster(clusterId);
    await readHeld;
    await access.addBinding({ clusterId, roleTemplate: 'cluster-member', subject: { kind: 'user', userId: alice.id } });
    release();
    await reading;
    assert.equal(await access.canAccessCluster(alice, clusterId), true);
  });
});
