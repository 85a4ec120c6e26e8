/**
 * Two `drover server` replicas on one real PostgreSQL: every change made through
 * replica 2 reaches replica 1's in-memory views through the change feed
 * (src/coordination/). The cluster's real agent is connected to replica 1, so the
 * proxy checks run there with the machine's kubectl. Replica 2 runs on a copy of
 * replica 1's data dir (its CA and encryption key), the documented way to add one.
 *
 * The periodic full re-read is set to 10 minutes here, so a view that follows a
 * change within the test's deadline followed it through the feed (or, for tokens
 * and users, the token cache's own 5 s re-read). Times are printed, not asserted.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { kubectl, startPrivateControlPlane, type PrivateControlPlane } from '../testenv/index.ts';
import { createPostgresDatabase } from '../testenv/postgres.ts';
import { adminPassword, eventually, startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import { runCliForTest } from '../../src/testing/index.ts';
import { spawnServer, type ServerProcess } from './identity-support.ts';
import { groupsDn, peopleDn, serviceDn, servicePassword, startSlapd, type Slapd } from '../testenv/slapd.ts';

const suffix = (): string => randomBytes(3).toString('hex');
const password = 'a-password-long-enough';
/** Generous: the design bound is 1-2 s, the machine is shared. */
const deadlineMs = 30_000;
const feedEnv = { DROVER_RESYNC_MS: '600000' };

describe('replicas on one PostgreSQL see each other\'s changes', () => {
  let privateCp: PrivateControlPlane;
  let dbUrl: string;
  let drover: Drover;
  let replica2: ServerProcess;
  let cluster: RegisteredCluster;
  const config2 = (): string => join(drover.dir, 'replica2-cli.json');
  /** `drover …` as the admin, logged in through replica 2. */
  const cli2 = async (...argv: string[]): Promise<string> => {
    const result = await runCliForTest(argv, { configPath: config2(), env: {} });
    if (result.code !== 0) throw new Error(`drover ${argv.join(' ')} (replica 2) failed: ${result.stderr.trim()}`);
    return result.stdout;
  };
  const sql = async (text: string, values: unknown[] = []): Promise<pg.QueryResult> => {
    const client = new pg.Client({ connectionString: dbUrl });
    await client.connect();
    try { return await client.query(text, values); } finally { await client.end(); }
  };

  /** A user with a kubeconfig for the cluster through replica 1 (where the agent is). */
  const user = async (name: string, options: { role?: string; admin?: boolean } = {}): Promise<{ name: string; kubeconfig: string; token: string }> => {
    await drover.cli('users', 'create', name, '--password', password, ...(options.admin ? ['--admin'] : []));
    if (options.role) await drover.cli('members', 'add', '--cluster', cluster.name, '--user', name, '--role', options.role);
    const login = await drover.as(name, ['login', drover.server.url, '--username', name, '--password-stdin', '--ca-file', join(drover.server.dataDir, 'ca.crt')], password);
    assert.equal(login.code, 0, login.stderr);
    const kubeconfig = join(drover.dir, `${name}.kubeconfig`);
    const made = await drover.as(name, ['kubeconfig', cluster.name, '--file', kubeconfig]);
    assert.equal(made.code, 0, made.stderr);
    return { name, kubeconfig, token: drover.tokenOf(name) };
  };

  /** Whether replica 1's proxy lets the kubeconfig's user through: `kubectl version` reaches kube-apiserver's /version. */
  const allowed = async (kubeconfig: string): Promise<boolean> => (await kubectl(['version', '-o', 'json', '--request-timeout=10s'], { kubeconfig })).code === 0;

  /** Waits until replica 1 answers `want`; prints how long it took after the change. */
  const until = async (what: string, since: number, check: () => Promise<boolean>): Promise<void> => {
    await eventually(what, async () => ((await check()) ? true : undefined), deadlineMs);
    process.stderr.write(`replica 1 followed (${what}) in ${Date.now() - since} ms\n`);
  };

  before(async () => {
    privateCp = await startPrivateControlPlane();
    dbUrl = await createPostgresDatabase('replicas');
    drover = await startDrover({ env: feedEnv, serverArgs: ['--db', dbUrl] });
    cluster = await drover.registerCluster(`rep-${suffix()}`, privateCp.state);
    // The second replica: a copy of the first one's data dir (CA, serving certificate, encryption key).
    const dataDir2 = join(drover.dir, 'server2');
    cpSync(drover.server.dataDir, dataDir2, { recursive: true });
    // A replica without the tunnel must not mark the cluster unavailable during the test (that rule is #19's ownership part).
    replica2 = await spawnServer({ dataDir: dataDir2, db: dbUrl, env: { ...feedEnv, DROVER_CLUSTER_GRACE_MS: '3600000' } });
    const login = await runCliForTest(['login', replica2.url, '--username', 'admin', '--password', adminPassword, '--ca-file', join(dataDir2, 'ca.crt')], { configPath: config2(), env: {} });
    assert.equal(login.code, 0, login.stderr);
  });

  after(async () => {
    await replica2?.stop();
    await drover?.stop();
    await privateCp?.stop();
  });

  it('a member added through replica 2 is let in by replica 1', async () => {
    // A kubeconfig is handed only to members: get one, then stop being a member (through replica 1).
    const u = await user(`add-${suffix()}`, { role: 'cluster-member' });
    await drover.cli('members', 'remove', '--cluster', cluster.name, '--user', u.name);
    assert.equal(await allowed(u.kubeconfig), false, 'not a member any more');
    const since = Date.now();
    await cli2('members', 'add', '--cluster', cluster.name, '--user', u.name, '--role', 'cluster-member');
    await until('member added', since, () => allowed(u.kubeconfig));
  });

  it('a member removed through replica 2 is refused by replica 1, and their open watch through replica 1 ends', async () => {
    const u = await user(`rm-${suffix()}`, { role: 'cluster-owner' });
    await until('member allowed before removal', Date.now(), () => allowed(u.kubeconfig));
    // The reconciler (on replica 1, which holds the tunnel) writes the member's RBAC shortly
    // after the member is added; until then the watch's first LIST is a 403 and kubectl exits.
    await eventually('the member\'s RBAC to let them watch namespaces', async () =>
      ((await kubectl(['auth', 'can-i', 'watch', 'namespaces', '--request-timeout=10s'], { kubeconfig: u.kubeconfig })).stdout.trim() === 'yes' ? true : undefined), 60_000);
    const child = spawn('kubectl', ['get', 'namespaces', '--watch', '--request-timeout=0'], { env: { ...process.env, KUBECONFIG: u.kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    for (const s of [child.stdout, child.stderr]) s.on('data', (b: Buffer) => { out += b.toString(); });
    const ended = new Promise((resolve) => child.once('exit', resolve));
    try {
      const exitedBeforeRemoval = ended.then((code) => { throw new Error(`kubectl get --watch exited (${String(code)}) before the removal: ${out.slice(-500)}`); });
      exitedBeforeRemoval.catch(() => { /* the race below reports it when it comes first */ });
      await Promise.race([eventually('the watch through replica 1 to be live', () => (/default/.test(out) ? true : undefined), 60_000), exitedBeforeRemoval]);
      const since = Date.now();
      await cli2('members', 'remove', '--cluster', cluster.name, '--user', u.name);
      await until('member removed', since, async () => !(await allowed(u.kubeconfig)));
      await Promise.race([ended, new Promise((_, reject) => setTimeout(() => reject(new Error(`the watch is still open: ${out.slice(-500)}`)), deadlineMs))]);
      process.stderr.write(`replica 1's open watch ended ${Date.now() - since} ms after the removal through replica 2\n`);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a user disabled through replica 2 is refused by replica 1', async () => {
    const u = await user(`dis-${suffix()}`, { role: 'cluster-member' });
    await until('user allowed before disable', Date.now(), () => allowed(u.kubeconfig));
    const since = Date.now();
    await cli2('users', 'disable', u.name);
    await until('user disabled', since, async () => !(await allowed(u.kubeconfig)));
  });

  it('a token revoked through replica 2 is refused by replica 1', async () => {
    const u = await user(`rev-${suffix()}`, { role: 'cluster-member' });
    await until('token allowed before revoke', Date.now(), () => allowed(u.kubeconfig));
    const kubeconfigToken = /token: (\S+)/.exec(readFileSync(u.kubeconfig, 'utf8'))?.[1] ?? '';
    const since = Date.now();
    await cli2('tokens', 'revoke', kubeconfigToken.split(':')[0] ?? '');
    await until('token revoked', since, async () => !(await allowed(u.kubeconfig)));
  });

  it('a global admin demoted through replica 2 loses the admin\'s way into the cluster on replica 1', async () => {
    const u = await user(`adm-${suffix()}`, { admin: true });
    await until('admin allowed before demotion', Date.now(), () => allowed(u.kubeconfig));
    const since = Date.now();
    await cli2('users', 'update', u.name, '--no-admin');
    await until('admin demoted', since, async () => !(await allowed(u.kubeconfig)));
  });

  it('a provider disabled through replica 2 logs its users out of replica 1', async () => {
    let slapd: Slapd | undefined;
    try {
      slapd = await startSlapd();
      const file = drover.yamlFile('openldap', { config: {
        url: slapd.url, startTls: true, caPem: slapd.caPem, bindDn: serviceDn, bindPassword: servicePassword, userBaseDn: peopleDn, groupBaseDn: groupsDn,
      } });
      await drover.cli('providers', 'configure', 'openldap', '-f', file);
      const tested = await drover.as('admin', ['providers', 'test', 'openldap', '--username', 'alice', '--password-stdin'], 'alice-password');
      assert.equal(tested.code, 0, tested.stderr);
      await drover.cli('providers', 'enable', 'openldap');
      const login = await drover.as('alice', ['login', drover.server.url, '--provider', 'openldap', '--username', 'alice', '--password-stdin', '--ca-file', join(drover.server.dataDir, 'ca.crt')], 'alice-password');
      assert.equal(login.code, 0, login.stderr);
      await drover.cli('members', 'add', '--cluster', cluster.name, '--user', 'alice', '--role', 'cluster-member');
      const kubeconfig = join(drover.dir, 'alice.kubeconfig');
      const made = await drover.as('alice', ['kubeconfig', cluster.name, '--file', kubeconfig]);
      assert.equal(made.code, 0, made.stderr);
      await until('directory user allowed before the disable', Date.now(), () => allowed(kubeconfig));
      const since = Date.now();
      await cli2('providers', 'disable', 'openldap');
      await until('provider disabled', since, async () => !(await allowed(kubeconfig)));
    } finally {
      await slapd?.stop();
    }
  });

  it('kubeconfig settings saved through replica 2 are what replica 1 answers', async () => {
    const since = Date.now();
    await cli2('settings', 'set', 'kubeconfig', '--token-ttl', `${600 + Math.floor(Math.random() * 600)}s`);
    const want = (JSON.parse(await cli2('settings', 'get', 'kubeconfig', '-o', 'json')) as { defaultTtlSeconds: number }).defaultTtlSeconds;
    await until('settings saved', since, async () =>
      (JSON.parse(await drover.cli('settings', 'get', 'kubeconfig', '-o', 'json')) as { defaultTtlSeconds: number }).defaultTtlSeconds === want);
  });

  it('after its listener connection is killed, replica 1 reconnects and reads what changed while it was away', async () => {
    const u = await user(`lost-${suffix()}`, { role: 'cluster-member' });
    await until('member allowed before the lost notification', Date.now(), () => allowed(u.kubeconfig));
    const id = (JSON.parse(await drover.cli('users', 'get', u.name, '-o', 'json')) as { id: string }).id;
    // A change whose notification is lost: written straight into the database, with no NOTIFY at all.
    const deleted = await sql(`DELETE FROM cluster_role_bindings WHERE cluster_id = $1 AND subject_kind = 'user' AND subject = $2`, [cluster.id, id]);
    assert.equal(deleted.rowCount, 1);
    assert.equal(await allowed(u.kubeconfig), true, 'replica 1 has not heard of the change (no event, no periodic re-read yet)');
    const since = Date.now();
    const killed = await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'drover-change-feed' AND datname = current_database()`);
    assert.equal(killed.rowCount, 2, 'both replicas hold a listener connection');
    await until('listener reconnected and re-read', since, async () => !(await allowed(u.kubeconfig)));
    await eventually('both listeners to be connected again', async () =>
      ((await sql(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'drover-change-feed' AND datname = current_database()`)).rowCount === 2 ? true : undefined), deadlineMs);
    // And events flow again after the reconnect.
    const since2 = Date.now();
    await cli2('members', 'add', '--cluster', cluster.name, '--user', u.name, '--role', 'cluster-member');
    await until('member added after the reconnect', since2, () => allowed(u.kubeconfig));
  });
});
