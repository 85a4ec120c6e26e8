/**
 * The authorized cluster endpoint end to end: a real kube-apiserver whose token
 * webhook points at a real `drover kube-api-auth` process, a real Drover server
 * syncing token records into it through the agent's tunnel, and the machine's
 * kubectl talking straight to kube-apiserver with Drover tokens.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort, kubectl, kubectlOk, startPrivateControlPlane, type ControlPlaneState, type PrivateControlPlane } from '../testenv/index.ts';
import { eventually, startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import { call, spawnServer } from './identity-support.ts';
import { runCliForTest } from '../../src/testing/index.ts';
import { hashTokenSecret } from '../../src/tokens/index.ts';

const root = new URL('../..', import.meta.url).pathname;
const suffix = randomBytes(3).toString('hex');

interface KubeApiAuthProcess { child: ChildProcess; output: () => string; stop: () => Promise<void> }

function startKubeApiAuth(port: number, kubeconfig: string): KubeApiAuthProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'kube-api-auth', '--listen', `127.0.0.1:${port}`, '--kubeconfig', kubeconfig], {
    cwd: root, env: { ...process.env, DROVER_LOG_LEVEL: 'debug' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  for (const s of [child.stdout, child.stderr]) s?.on('data', (c: Buffer) => { output += c.toString(); });
  return {
    child, output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe('authorized cluster endpoint (kube-api-auth)', () => {
  let drover: Drover;
  let cpA: PrivateControlPlane;
  let cpB: ControlPlaneState;
  let privateB: PrivateControlPlane;
  let webhookPort: number;
  let webhook: KubeApiAuthProcess;
  let alpha: RegisteredCluster;
  let beta: RegisteredCluster;
  let adminId: string;
  let aceToken: string;
  let aceServer: string | undefined;
  const namespace = `ace-${suffix}`;
  const webhookUrl = () => `http://127.0.0.1:${webhookPort}/v1/authenticate`;

  const aceKubeconfig = (token: string, name: string): string => {
    const path = join(drover.dir, `ace-${name}.kubeconfig`);
    writeFileSync(path, JSON.stringify({
      apiVersion: 'v1', kind: 'Config',
      clusters: [{ name: 'alpha-fqdn', cluster: { server: aceServer ?? cpA.state.url, 'certificate-authority-data': Buffer.from(cpA.state.caPem).toString('base64') } }],
      users: [{ name: 'drover', user: { token } }],
      contexts: [{ name: 'alpha-fqdn', context: { cluster: 'alpha-fqdn', user: 'drover', namespace } }],
      'current-context': 'alpha-fqdn',
    }));
    return path;
  };
  const asAce = (token: string, args: string[]) => kubectl(args, { kubeconfig: aceKubeconfig(token, randomBytes(4).toString('hex')), timeoutMs: 20_000 });
  const admin = (args: string[], input?: string) => kubectlOk(args, { kubeconfig: cpA.state.kubeconfigPath, ...(input ? { input } : {}) });
  const issue = async (clusterId: string, configPath = drover.configPath): Promise<{ token: string; tokenId: string }> => {
    const result = await runCliForTest(['tokens', 'create', '--cluster', clusterId, '--description', 'ace', '-o', 'json'], { configPath });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as { token: string; tokenId: string };
  };
  const review = async (body: string | Buffer, method = 'POST') => {
    const res = await request(webhookUrl(), { method, body: method === 'POST' ? body : undefined, headers: { 'content-type': 'application/json' } });
    const text = await res.body.text();
    return { status: res.statusCode, text, json: () => JSON.parse(text) as { apiVersion: string; status: { authenticated: boolean; user?: { username: string; uid: string; groups: string[] } } } };
  };
  const tokenReview = (token: string, apiVersion = 'authentication.k8s.io/v1') => review(JSON.stringify({ apiVersion, kind: 'TokenReview', spec: { token } }));
  /** Polls until the webhook, then kubectl, refuse the token; returns the milliseconds each took. */
  const timeUntilRefused = async (token: string, since: number): Promise<{ webhookMs: number; kubectlMs: number }> => {
    await eventually('the webhook to refuse the token', async () => ((await tokenReview(token)).json().status.authenticated ? undefined : true), 30_000);
    const webhookMs = Date.now() - since;
    await eventually('the token to be refused by the cluster', async () => {
      const r = await asAce(token, ['get', 'pods']);
      return r.code !== 0 && /Unauthorized|must be logged in/i.test(r.stderr) ? true : undefined;
    }, 30_000);
    return { webhookMs, kubectlMs: Date.now() - since };
  };

  before(async () => {
    webhookPort = await freePort();
    [cpA, privateB] = await Promise.all([
      startPrivateControlPlane({ tokenWebhook: `http://127.0.0.1:${webhookPort}/v1/authenticate` }),
      // Never the shared control plane: this server reconciles RBAC in what it manages.
      startPrivateControlPlane(),
    ]);
    cpB = privateB.state;
    drover = await startDrover({ env: { DROVER_ACE_SYNC_MS: '500' } });
    webhook = startKubeApiAuth(webhookPort, cpA.state.kubeconfigPath);
    [alpha, beta] = await Promise.all([drover.registerCluster(`alpha-${suffix}`, cpA.state), drover.registerCluster(`beta-${suffix}`, cpB)]);
    adminId = (JSON.parse(await drover.cli('whoami', '-o', 'json')) as { id: string }).id;
    // Downstream RBAC for the admin's user id, as a binding would render it.
    await admin(['create', 'namespace', namespace]);
    await admin(['create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods', '-n', namespace]);
    await admin(['create', 'rolebinding', 'pod-reader', '--role=pod-reader', `--user=${adminId}`, '-n', namespace]);
  });
  after(async () => {
    await webhook?.stop();
    await drover?.stop();
    await Promise.all([cpA?.stop(), privateB?.stop()]);
  });

  it('an admin enables ACE with an FQDN and its CA, and the cluster yields the matching context', async () => {
    const caFile = join(drover.dir, 'alpha-ca.pem');
    writeFileSync(caFile, cpA.state.caPem);
    const fqdn = new URL(cpA.state.url).host;
    const bad = await drover.run('clusters', 'update', alpha.name, '--ace-fqdn', 'no-port-here');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--ace-fqdn: expected HOST:PORT/);
    assert.match(await drover.cli('clusters', 'update', alpha.name, '--ace-fqdn', fqdn, '--ace-ca-file', caFile), /drover kubeconfig/);
    const sessionToken = (JSON.parse(readFileSync(drover.configPath, 'utf8')) as { token: string }).token;
    const answer = await call(drover.server, 'GET', `/v1/clusters/${alpha.name}/ace`, { token: sessionToken });
    assert.equal(answer.status, 200, answer.text);
    const body = answer.json() as { setting: { mode: string }; contexts: Array<{ name: string; server: string; caPem?: string }> };
    assert.deepEqual(body.contexts, [{ name: `${alpha.name}-fqdn`, server: `https://${fqdn}`, caPem: `${cpA.state.caPem.trim()}\n` }]);
    aceServer = body.contexts[0]!.server;
    await drover.cli('clusters', 'update', beta.name, '--ace-nodes');
    const nodes = await call(drover.server, 'GET', `/v1/clusters/${beta.name}/ace`, { token: sessionToken });
    assert.equal((nodes.json() as { setting: { mode: string } }).setting.mode, 'nodes');
  });

  it('drover kubeconfig carries the ACE context, and use-context is all it takes to go direct', async () => {
    const file = join(drover.dir, 'alpha-with-ace.kubeconfig');
    const out = await drover.run('kubeconfig', alpha.name, '--file', file);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, new RegExp(`${alpha.name}-fqdn`));
    await kubectlOk(['config', 'use-context', `${alpha.name}-fqdn`], { kubeconfig: file });
    const who = await eventually('the kubeconfig token to reach the cluster', async () => {
      const r = await kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfig: file });
      return r.code === 0 ? r.stdout : undefined;
    }, 30_000);
    assert.equal(who, adminId);
  });

  it('a cluster-scoped token works straight against kube-apiserver with exactly its RBAC', async () => {
    aceToken = (await issue(alpha.id)).token;
    const pods = await eventually('the synced token to work', async () => {
      const r = await asAce(aceToken, ['get', 'pods', '-o', 'json']);
      return r.code === 0 ? r : undefined;
    }, 30_000);
    assert.match(pods.stdout, /"kind": "List"/);
    const whoami = JSON.parse((await asAce(aceToken, ['auth', 'whoami', '-o', 'json'])).stdout) as { status: { userInfo: { username: string; uid: string; groups: string[] } } };
    assert.equal(whoami.status.userInfo.username, adminId);
    assert.ok(whoami.status.userInfo.groups.includes('system:authenticated'));
    // A Drover admin holds cluster-admin downstream (globaladmin-<id>); the RBAC limits are shown by a plain member.
    const name = `ace-reader-${suffix}`;
    const password = `pw-${randomBytes(12).toString('hex')}`;
    await drover.cli('users', 'create', name, '--password', password);
    const configPath = join(drover.dir, `${name}.json`);
    const login = await runCliForTest(['login', drover.server.url, '--username', name, '--password', password, '--ca-file', join(drover.server.dataDir, 'ca.crt')], { configPath });
    assert.equal(login.code, 0, login.stderr);
    const readerId = (JSON.parse((await runCliForTest(['whoami', '-o', 'json'], { configPath })).stdout) as { id: string }).id;
    await drover.cli('members', 'add', '--cluster', alpha.name, '--user', name, '--role', 'view-nodes');
    await admin(['create', 'rolebinding', `pod-reader-${suffix}`, '--role=pod-reader', `--user=${readerId}`, '-n', namespace]);
    const readerToken = (await issue(alpha.id, configPath)).token;
    await eventually('the reader\'s token to list pods', async () => ((await asAce(readerToken, ['get', 'pods'])).code === 0 ? true : undefined), 30_000);
    const secrets = await asAce(readerToken, ['get', 'secrets']);
    assert.notEqual(secrets.code, 0);
    assert.match(secrets.stderr, /forbidden/i);
    const otherNs = await asAce(readerToken, ['get', 'pods', '-n', 'default']);
    assert.match(otherNs.stderr, /forbidden/i);
    // Only hashes reach the cluster.
    const records = await admin(['get', 'clusterauthtokens.cluster.drover.dev', '-n', 'cattle-system', '-o', 'json']);
    assert.ok(!records.includes(aceToken.split(':')[1]!));
    assert.match(records, /sha3-512\$/);
  });

  it('refuses a token scoped to another cluster, an unscoped token and a wrong secret', async () => {
    const forBeta = await issue(beta.id);
    // Beta's record does land in beta, so the refusal below is not just a slow sync.
    await eventually('beta to get its record', async () => {
      const r = await kubectl(['get', 'clusterauthtokens.cluster.drover.dev', forBeta.tokenId, '-n', 'cattle-system'], { kubeconfig: cpB.kubeconfigPath });
      return r.code === 0 ? true : undefined;
    }, 30_000);
    // Each cluster holds only its own records: alpha never gets beta's, not even as a hash.
    const inAlpha = await admin(['get', 'clusterauthtokens.cluster.drover.dev', '-n', 'cattle-system', '-o', 'name']);
    assert.match(inAlpha, new RegExp(aceToken.split(':')[0]!));
    assert.doesNotMatch(inAlpha, new RegExp(forBeta.tokenId));
    const sessionToken = (JSON.parse(readFileSync(drover.configPath, 'utf8')) as { token?: string }).token;
    const wrongSecret = `${aceToken.split(':')[0]!}:${'A'.repeat(43)}`;
    for (const [what, token] of [['beta token', forBeta.token], ['wrong secret', wrongSecret], ['unscoped', sessionToken ?? 'token-none:x']] as const) {
      const r = await asAce(token, ['get', 'pods']);
      assert.notEqual(r.code, 0, what);
      assert.match(r.stderr, /Unauthorized|must be logged in/i, what);
    }
    assert.doesNotMatch(webhook.output(), new RegExp(aceToken.split(':')[1]!));
  });

  it('puts back a record deleted inside the cluster, though nothing changed in the store (the periodic check)', async () => {
    const tokenId = aceToken.split(':')[0]!;
    const get = (): Promise<boolean> => kubectl(['get', 'clusterauthtokens.cluster.drover.dev', tokenId, '-n', 'cattle-system'], { kubeconfig: cpA.state.kubeconfigPath }).then((r) => r.code === 0);
    await eventually('the record to be there', async () => ((await get()) ? true : undefined), 30_000);
    await admin(['delete', 'clusterauthtokens.cluster.drover.dev', tokenId, '-n', 'cattle-system']);
    // The sync skips a cluster whose desired records did not change, except every 30th tick (15 s at 500 ms).
    await eventually('the record to come back', async () => ((await get()) ? true : undefined), 90_000);
    await eventually('the token to work again', async () => ((await asAce(aceToken, ['get', 'pods'])).code === 0 ? true : undefined), 30_000);
  });

  it('keeps working with the Drover server stopped and across its own restart', async () => {
    const dataDir = drover.server.dataDir;
    const port = drover.server.port;
    await drover.server.stop();
    assert.equal((await asAce(aceToken, ['get', 'pods'])).code, 0);
    await webhook.stop();
    webhook = startKubeApiAuth(webhookPort, cpA.state.kubeconfigPath);
    await eventually('kube-api-auth to answer again', async () => ((await asAce(aceToken, ['get', 'pods'])).code === 0 ? true : undefined), 30_000);
    drover.server = await spawnServer({ dataDir, port, env: { DROVER_CLUSTER_GRACE_MS: '1500', DROVER_ACE_SYNC_MS: '500' } });
    await drover.waitForState(alpha.name, 'active');
  });

  it('a revoked token and a disabled user are refused within seconds, and enabling the user brings no token back', async (t) => {
    const revoked = await issue(alpha.id);
    await eventually('the new token to work', async () => ((await asAce(revoked.token, ['get', 'pods'])).code === 0 ? true : undefined), 30_000);
    const t0 = Date.now();
    await drover.cli('tokens', 'revoke', revoked.tokenId);
    const revokeMs = await timeUntilRefused(revoked.token, t0);

    const name = `ace-admin-${suffix}`;
    const password = `pw-${randomBytes(12).toString('hex')}`;
    await drover.cli('users', 'create', name, '--password', password, '--admin');
    const configPath = join(drover.dir, `${name}.json`);
    const login = await runCliForTest(['login', drover.server.url, '--username', name, '--password', password, '--ca-file', join(drover.server.dataDir, 'ca.crt')], { configPath });
    assert.equal(login.code, 0, login.stderr);
    const own = await issue(alpha.id, configPath);
    await eventually('the second admin\'s token to authenticate', async () => ((await asAce(own.token, ['auth', 'whoami'])).code === 0 ? true : undefined), 30_000);
    const t1 = Date.now();
    await drover.cli('users', 'disable', name);
    const disableMs = await timeUntilRefused(own.token, t1);
    // Enabling the user again brings no token back: the record is deleted, not marked disabled.
    await drover.cli('users', 'enable', name);
    await eventually('the disabled user\'s token record to be gone from the cluster', async () => {
      const r = await kubectl(['get', 'clusterauthtokens.cluster.drover.dev', own.tokenId, '-n', 'cattle-system'], { kubeconfig: cpA.state.kubeconfigPath });
      return r.code !== 0 && /NotFound/.test(r.stderr) ? true : undefined;
    }, 30_000);
    // A token issued after the enable works, so AceSync has passed since; the old one stays refused.
    const later = await issue(alpha.id);
    await eventually('a token issued after the enable to work', async () => ((await asAce(later.token, ['auth', 'whoami'])).code === 0 ? true : undefined), 30_000);
    assert.equal((await tokenReview(own.token)).json().status.authenticated, false);
    assert.match((await asAce(own.token, ['get', 'pods'])).stderr, /Unauthorized|must be logged in/i);
    t.diagnostic(`revocation: webhook refuses after ${revokeMs.webhookMs} ms, kubectl after ${revokeMs.kubectlMs} ms; `
      + `disabling: ${disableMs.webhookMs} ms / ${disableMs.kubectlMs} ms (sync interval 500 ms, apiserver webhook cache ttl 0 s)`);
    assert.ok(revokeMs.kubectlMs < 15_000 && disableMs.kubectlMs < 15_000);
  });

  it('a plain user\'s token reaches the cluster only while they are a member of it', async (t) => {
    const name = `ace-user-${suffix}`;
    const password = `pw-${randomBytes(12).toString('hex')}`;
    await drover.cli('users', 'create', name, '--password', password);
    const configPath = join(drover.dir, `${name}.json`);
    const login = await runCliForTest(['login', drover.server.url, '--username', name, '--password', password, '--ca-file', join(drover.server.dataDir, 'ca.crt')], { configPath });
    assert.equal(login.code, 0, login.stderr);
    await drover.cli('members', 'add', '--cluster', alpha.name, '--user', name, '--role', 'cluster-member');
    const own = await issue(alpha.id, configPath);
    await eventually('the member\'s token to authenticate', async () => ((await asAce(own.token, ['auth', 'whoami'])).code === 0 ? true : undefined), 30_000);
    const t0 = Date.now();
    await drover.cli('members', 'remove', '--cluster', alpha.name, '--user', name);
    const removedMs = await timeUntilRefused(own.token, t0);
    t.diagnostic(`membership removal: webhook refuses after ${removedMs.webhookMs} ms, kubectl after ${removedMs.kubectlMs} ms`);
  });

  it('a hung cluster does not stop the sync to another', async () => {
    beta.agent.child.kill('SIGSTOP'); // the tunnel to beta now hangs mid-stream, the worst kind of broken
    try {
      const fresh = await issue(alpha.id);
      await eventually('a new token to reach alpha while beta hangs', async () => ((await asAce(fresh.token, ['get', 'pods'])).code === 0 ? true : undefined), 20_000);
    } finally {
      beta.agent.child.kill('SIGCONT');
    }
  });

  describe('attacks on the webhook', () => {
    it('answers a wrong secret for a valid id, and an unknown id, as unauthenticated', async () => {
      const id = aceToken.split(':')[0]!;
      for (const token of [`${id}:${'B'.repeat(43)}`, `token-unknown${suffix}:${'C'.repeat(43)}`, 'not-a-token', `${id}:`]) {
        const r = await tokenReview(token);
        assert.equal(r.status, 200, token);
        assert.deepEqual(r.json().status, { authenticated: false });
      }
      assert.equal((await tokenReview(aceToken)).json().status.authenticated, true);
    });

    it('refuses hand-made records: expired, for another cluster, or for a user without an attribute', async () => {
      const secret = 'D'.repeat(43);
      const make = (name: string, spec: object) => ({
        apiVersion: 'cluster.drover.dev/v1', kind: 'ClusterAuthToken', metadata: { name, namespace: 'cattle-system' }, spec,
      });
      const hash = hashTokenSecret(secret);
      const cases = {
        [`token-expired${suffix}`]: { userId: adminId, clusterId: alpha.id, hash, enabled: true, expiresAt: '2020-01-01T00:00:00Z' },
        [`token-othercl${suffix}`]: { userId: adminId, clusterId: beta.id, hash, enabled: true },
        [`token-nouser${suffix}`]: { userId: 'u-nobody', clusterId: alpha.id, hash, enabled: true },
        [`token-disabled${suffix}`]: { userId: adminId, clusterId: alpha.id, hash, enabled: false },
        [`token-control${suffix}`]: { userId: adminId, clusterId: alpha.id, hash, enabled: true },
      };
      // Unlabelled, so the sync (which owns only Drover-labelled records) leaves them alone.
      await admin(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: Object.entries(cases).map(([n, s]) => make(n, s)) }));
      await eventually('the control record to authenticate', async () => ((await tokenReview(`token-control${suffix}:${secret}`)).json().status.authenticated ? true : undefined), 10_000);
      for (const name of Object.keys(cases).filter((n) => !n.startsWith('token-control'))) {
        assert.equal((await tokenReview(`${name}:${secret}`)).json().status.authenticated, false, name);
      }
    });

    it('rejects malformed, oversized and wrong-version bodies with 400 and keeps serving', async () => {
      const bad = [
        '{', '[]', 'null', '"x"', JSON.stringify({ kind: 'TokenReview', spec: { token: aceToken } }),
        JSON.stringify({ apiVersion: 'authentication.k8s.io/v2', kind: 'TokenReview', spec: { token: aceToken } }),
        JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SubjectAccessReview', spec: { token: aceToken } }),
        JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 42 } }),
        JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: aceToken, pad: 'x'.repeat(2 * 1024 * 1024) } }),
      ];
      for (const body of bad) assert.equal((await review(body)).status, 400, body.slice(0, 80));
      assert.equal((await review('', 'GET')).status, 405);
      const beta1 = await tokenReview(aceToken, 'authentication.k8s.io/v1beta1');
      assert.equal(beta1.json().apiVersion, 'authentication.k8s.io/v1beta1');
      assert.equal(beta1.json().status.authenticated, true);
      assert.equal(webhook.child.exitCode, null);
    });
  });
});
