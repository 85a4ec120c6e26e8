/**
 * Adding a directory user as a member by principal before they ever log in: a
 * real `drover server`, a real slapd, a private control plane with a real agent.
 * The admin adds `openldap_user://<dn>` of a user Drover has never seen; the
 * user's first `drover login --provider openldap` lands on that same Drover user,
 * and kubectl with their generated kubeconfig works at once. A DN the directory
 * does not have is refused.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { kubectl, startPrivateControlPlane, type PrivateControlPlane } from '../testenv/index.ts';
import { eventually, startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import { groupDn, groupsDn, peopleDn, serviceDn, servicePassword, startSlapd, userDn, type Slapd } from '../testenv/slapd.ts';
import { runCliForTest, type CliResult } from '../../src/testing/index.ts';
import { call } from './identity-support.ts';

const suffix = Math.random().toString(36).slice(2, 7);
const carol = `openldap_user://${userDn('carol')}`;

interface MemberView { subjectKind: string; subject: string; username?: string; roleTemplate: string }

describe('adding a directory user by principal before their first login', () => {
  let slapd: Slapd;
  let cp: PrivateControlPlane;
  let drover: Drover;
  let cluster: RegisteredCluster;
  const carolConfig = (): string => join(drover.dir, 'carol-cli.json');
  const asCarol = (argv: string[], stdin?: string): Promise<CliResult> =>
    runCliForTest(argv, { configPath: carolConfig(), ...(stdin === undefined ? {} : { stdin }) });
  const adminToken = (): string => (JSON.parse(readFileSync(drover.configPath, 'utf8')) as { token: string }).token;

  before(async () => {
    [slapd, cp] = await Promise.all([startSlapd(), startPrivateControlPlane()]);
    drover = await startDrover();
    cluster = await drover.registerCluster(`by-principal-${suffix}`, cp.state);
    const file = join(drover.dir, 'openldap.yaml');
    writeFileSync(file, toYaml({
      config: { url: slapd.url, startTls: true, caPem: slapd.caPem, bindDn: serviceDn, bindPassword: servicePassword, userBaseDn: peopleDn, groupBaseDn: groupsDn },
    }));
    await drover.cli('providers', 'configure', 'openldap', '-f', file);
    const tested = await runCliForTest(['providers', 'test', 'openldap', '--username', 'alice', '--password-stdin'], { configPath: drover.configPath, stdin: 'alice-password' });
    assert.equal(tested.code, 0, tested.stderr);
    await drover.cli('providers', 'enable', 'openldap');
  });
  after(async () => {
    await drover?.stop();
    await cp?.stop();
    await slapd?.stop();
  });

  it('the admin adds a never-seen directory user by DN; their first login lands on that user and kubectl works at once', async () => {
    const added = JSON.parse(await drover.cli('members', 'add', '--cluster', cluster.name, '--user', carol, '--role', 'cluster-member', '-o', 'json')) as MemberView;
    assert.equal(added.subjectKind, 'user');
    assert.equal(added.username, 'carol');
    const listed = JSON.parse(await drover.cli('members', 'list', '--cluster', cluster.name, '-o', 'json')) as MemberView[];
    assert.ok(listed.some((m) => m.subject === added.subject && m.roleTemplate === 'cluster-member'));
    // Adding again is the same user (the binding itself already exists).
    const again = await call(drover.server, 'POST', `/v1/clusters/${cluster.id}/members`, { token: adminToken(), body: { user: carol, role: 'cluster-member' } });
    assert.equal(again.status, 409, again.text);

    const login = await asCarol(['login', drover.server.url, '--provider', 'openldap', '--username', 'carol', '--password-stdin', '--ca-file', join(drover.server.dataDir, 'ca.crt')], 'carol-password');
    assert.equal(login.code, 0, login.stderr);
    const me = JSON.parse((await asCarol(['whoami', '-o', 'json'])).stdout) as { id: string; username: string; provider: string; groups: string[] };
    assert.equal(me.id, added.subject, 'the first login found the pre-created user through its principal');
    assert.equal(me.username, 'carol');
    assert.equal(me.provider, 'openldap');
    assert.ok(me.groups.includes(`openldap_group://${groupDn('loop-a')}`));

    const kubeconfig = join(drover.dir, 'carol.kubeconfig');
    const made = await asCarol(['kubeconfig', cluster.name, '--file', kubeconfig]);
    assert.equal(made.code, 0, made.stderr);
    await eventually('carol lists namespaces through the proxy', async () => {
      const r = await kubectl(['get', 'namespaces', '-o', 'name'], { kubeconfig });
      return r.code === 0 && r.stdout.includes('namespace/default') ? true : undefined;
    }, 30_000);
  });

  it('refuses a DN the directory does not have with 404, and a group principal given as a user or a principal of a provider that is not enabled with 422, creating no user; a non-manager is refused before any lookup', async () => {
    const users = async (): Promise<number> => (JSON.parse(await drover.cli('users', 'list', '-o', 'json')) as unknown[]).length;
    const before = await users();
    const unknown = await drover.run('members', 'add', '--cluster', cluster.name, '--user', `openldap_user://${userDn('nobody')}`, '--role', 'cluster-member');
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /no such user/);
    const api = await call(drover.server, 'POST', `/v1/clusters/${cluster.id}/members`, { token: adminToken(), body: { user: `openldap_user://${userDn('nobody')}`, role: 'cluster-member' } });
    assert.equal(api.status, 404, api.text);
    assert.equal((api.json() as { code: string }).code, 'DRV_ERR_NOT_FOUND');
    const group = await call(drover.server, 'POST', `/v1/clusters/${cluster.id}/members`, { token: adminToken(), body: { user: `openldap_group://${groupDn('ops')}`, role: 'cluster-member' } });
    assert.equal(group.status, 422, group.text);
    const github = await call(drover.server, 'POST', `/v1/clusters/${cluster.id}/members`, { token: adminToken(), body: { user: 'github_user://42', role: 'cluster-member' } });
    assert.equal(github.status, 422, github.text);
    assert.match((github.json() as { message: string }).message, /not enabled/);
    // A member who may not manage members is refused before any user is created.
    const carolToken = (JSON.parse(readFileSync(carolConfig(), 'utf8')) as { token: string }).token;
    const byMember = await call(drover.server, 'POST', `/v1/clusters/${cluster.id}/members`, { token: carolToken, body: { user: `openldap_user://${userDn('bob')}`, role: 'cluster-member' } });
    assert.equal(byMember.status, 403, byMember.text);
    assert.equal(await users(), before);
  });

  it('removes a member by the same principal', async () => {
    const removed = await drover.run('members', 'remove', '--cluster', cluster.name, '--user', carol);
    assert.equal(removed.code, 0, removed.stderr);
    const listed = JSON.parse(await drover.cli('members', 'list', '--cluster', cluster.name, '-o', 'json')) as MemberView[];
    assert.ok(!listed.some((m) => m.username === 'carol'));
  });
});
