/**
 * Group changes at the provider reach the authorized cluster endpoint: an
 * OpenLDAP user whose access comes from a group binding uses the ACE context of
 * their own kubeconfig straight against kube-apiserver (token webhook pointing at
 * a real `drover kube-api-auth` process), and losing the group at slapd takes
 * that access away within the refresh interval plus the AceSync period, with no
 * re-login.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { freePort, kubectl, kubectlOk, startPrivateControlPlane, type PrivateControlPlane } from '../testenv/index.ts';
import { eventually, startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import { groupDn, groupsDn, peopleDn, serviceDn, servicePassword, startSlapd, userDn, type Slapd } from '../testenv/slapd.ts';
import { runCliForTest, type CliResult } from '../../src/testing/index.ts';

const root = new URL('../..', import.meta.url).pathname;
const suffix = Math.random().toString(36).slice(2, 7);
const engineering = `openldap_group://${groupDn('engineering')}`;

describe('authorized cluster endpoint follows provider group changes', () => {
  let slapd: Slapd;
  let cp: PrivateControlPlane;
  let drover: Drover;
  let cluster: RegisteredCluster;
  let webhook: ChildProcess;
  const aliceConfig = (): string => join(drover.dir, 'alice-cli.json');
  const asAlice = (argv: string[], stdin?: string): Promise<CliResult> =>
    runCliForTest(argv, { configPath: aliceConfig(), ...(stdin === undefined ? {} : { stdin }) });

  before(async () => {
    const webhookPort = await freePort();
    [slapd, cp] = await Promise.all([startSlapd(), startPrivateControlPlane({ tokenWebhook: `http://127.0.0.1:${webhookPort}/v1/authenticate` })]);
    drover = await startDrover({ env: { DROVER_PROVIDER_REFRESH_SECONDS: '1', DROVER_ACE_SYNC_MS: '500' } });
    webhook = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'kube-api-auth', '--listen', `127.0.0.1:${webhookPort}`, '--kubeconfig', cp.state.kubeconfigPath], {
      cwd: root, env: process.env, stdio: 'ignore',
    });
    cluster = await drover.registerCluster(`ldap-ace-${suffix}`, cp.state);
  });
  after(async () => {
    if (webhook && webhook.exitCode === null && webhook.signalCode === null) {
      const exited = new Promise((r) => webhook.once('exit', r));
      webhook.kill('SIGKILL');
      await exited;
    }
    await drover?.stop();
    await cp?.stop();
    await slapd?.stop();
  });

  it('an LDAP user loses direct access through the ACE context when removed from the bound group at the directory, without re-login', async () => {
    const settings = join(drover.dir, 'openldap.yaml');
    writeFileSync(settings, toYaml({ config: {
      url: slapd.url, startTls: true, caPem: slapd.caPem, bindDn: serviceDn, bindPassword: servicePassword, userBaseDn: peopleDn, groupBaseDn: groupsDn,
    } }));
    await drover.cli('providers', 'configure', 'openldap', '-f', settings);
    const tested = await runCliForTest(['providers', 'test', 'openldap', '--username', 'alice', '--password-stdin'], { configPath: drover.configPath, stdin: 'alice-password' });
    assert.equal(tested.code, 0, tested.stderr);
    await drover.cli('providers', 'enable', 'openldap');
    const caFile = join(drover.dir, 'cluster-ca.pem');
    writeFileSync(caFile, cp.state.caPem);
    await drover.cli('clusters', 'update', cluster.name, '--ace-fqdn', new URL(cp.state.url).host, '--ace-ca-file', caFile);
    await drover.cli('members', 'add', '--cluster', cluster.name, '--group', engineering, '--role', 'cluster-member');

    const loggedIn = await asAlice(['login', drover.server.url, '--provider', 'openldap', '--username', 'alice', '--password-stdin', '--ca-file', join(drover.server.dataDir, 'ca.crt')], 'alice-password');
    assert.equal(loggedIn.code, 0, loggedIn.stderr);
    const kubeconfig = join(drover.dir, 'alice-ace.kubeconfig');
    const made = await asAlice(['kubeconfig', cluster.name, '--file', kubeconfig]);
    assert.equal(made.code, 0, made.stderr);
    await kubectlOk(['config', 'use-context', `${cluster.name}-fqdn`], { kubeconfig });
    const who = await eventually('alice reaches kube-apiserver directly with her groups', async () => {
      const r = await kubectl(['auth', 'whoami', '-o', 'json'], { kubeconfig });
      return r.code === 0 ? JSON.parse(r.stdout) as { status: { userInfo: { groups?: string[] } } } : undefined;
    }, 30_000);
    assert.ok(who.status.userInfo.groups?.includes(engineering), JSON.stringify(who));
    await eventually('alice lists namespaces straight against the cluster (group binding)', async () => {
      const r = await kubectl(['get', 'namespaces', '-o', 'name'], { kubeconfig });
      return r.code === 0 && r.stdout.includes('namespace/default') ? true : undefined;
    }, 30_000);

    await slapd.removeMember(groupDn('ops'), userDn('alice'));
    await eventually('alice loses direct access once the refresh and the ACE sync saw the change', async () => {
      const r = await kubectl(['get', 'namespaces', '-o', 'name'], { kubeconfig });
      // Without the group she may not reach the cluster at all: AceSync withdraws her cluster token (Unauthorized).
      return r.code !== 0 && /forbidden|Unauthorized|must be logged in/i.test(r.stderr) ? true : undefined;
    }, 20_000);
    // No re-login happened: her Drover session still works, now without the group.
    const me = await asAlice(['whoami', '-o', 'json']);
    assert.equal(me.code, 0, me.stderr);
    assert.ok(!(JSON.parse(me.stdout) as { groups: string[] }).groups.includes(engineering));
  });
});
