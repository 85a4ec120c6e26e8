/**
 * Proves the test control plane is a real Kubernetes: kubectl works against it,
 * the controller-manager's controllers run, RBAC denies, impersonation is
 * authorized, and the token webhook is called.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  eventually,
  freePort, kubectl, kubectlOk, sharedControlPlane, startPrivateControlPlane,
  type ControlPlaneState, type PrivateControlPlane,
} from '../testenv/index.ts';
import { adminKubeconfig } from '../testenv/kubeconfig-files.ts';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

/** A kubeconfig for the control plane that authenticates with `token`. */
function kubeconfigWithToken(cp: ControlPlaneState, token: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'kc-')), 'config');
  writeFileSync(file, adminKubeconfig({ url: cp.url, caPem: cp.caPem, token, name: 'test' }), { mode: 0o600 });
  return file;
}

describe('the test control plane', () => {
  let cp: ControlPlaneState;
  let kc: { kubeconfig: string };
  before(async () => {
    cp = await sharedControlPlane();
    kc = { kubeconfig: cp.kubeconfigPath };
  });

  it('serves kubectl with the admin kubeconfig and reports the built version', async () => {
    const namespaces = await kubectlOk(['get', 'namespaces', '-o', 'name'], kc);
    for (const ns of ['default', 'kube-system', 'kube-public']) assert.match(namespaces, new RegExp(`namespace/${ns}\\b`));
    const version = JSON.parse(await kubectlOk(['version', '-o', 'json'], kc)) as { serverVersion: { gitVersion: string } };
    assert.equal(version.serverVersion.gitVersion, cp.version);
  });

  it('deletes a namespace for real (the namespace controller runs)', async () => {
    const ns = unique('gone');
    await kubectlOk(['create', 'namespace', ns], kc);
    await kubectlOk(['create', 'configmap', 'c', '-n', ns, '--from-literal=a=b'], kc);
    await kubectlOk(['delete', 'namespace', ns, '--wait=false'], kc);
    await eventually('namespace removal', async () => {
      const r = await kubectl(['get', 'namespace', ns], kc);
      return r.code !== 0 && /NotFound/.test(r.stderr) ? true : undefined;
    });
  });

  it('fills a service-account token Secret, and TokenRequest issues tokens', async () => {
    const ns = unique('sa');
    await kubectlOk(['create', 'namespace', ns], kc);
    await kubectlOk(['create', 'serviceaccount', 'robot', '-n', ns], kc);
    await kubectlOk(['apply', '-f', '-'], { ...kc, input: JSON.stringify({
      apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token',
      metadata: { name: 'robot-token', namespace: ns, annotations: { 'kubernetes.io/service-account.name': 'robot' } },
    }) });
    const token = await eventually('token Secret to be filled', async () => {
      const out = await kubectlOk(['get', 'secret', 'robot-token', '-n', ns, '-o', 'jsonpath={.data.token}'], kc);
      return out ? Buffer.from(out, 'base64').toString() : undefined;
    });
    assert.match(token, /^ey/);
    const requested = (await kubectlOk(['create', 'token', 'robot', '-n', ns, '--duration=10m'], kc)).trim();
    assert.match(requested, /^ey/);

    // Both tokens authenticate as the account, and RBAC gives it nothing.
    for (const t of [token, requested]) {
      const asRobot = { kubeconfig: kubeconfigWithToken(cp, t) };
      const whoami = await kubectlOk(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], asRobot);
      assert.equal(whoami, `system:serviceaccount:${ns}:robot`);
      const denied = await kubectl(['get', 'pods', '-n', ns], asRobot);
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr, /forbidden/i);
    }
  });

  it('aggregates the built-in view role (the clusterrole-aggregation controller runs)', async () => {
    const rules = await eventually('aggregated rules on view', async () => {
      const out = await kubectlOk(['get', 'clusterrole', 'view', '-o', 'jsonpath={.rules}'], kc);
      return out && out !== '[]' ? out : undefined;
    });
    assert.match(rules, /pods/);
  });

  it('authorizes impersonation through RBAC', async () => {
    const someone = unique('someone');
    const asAdmin = await kubectlOk(['auth', 'whoami', '--as', someone, '--as-group', 'team-a', '-o', 'json'], kc);
    const info = (JSON.parse(asAdmin) as { status: { userInfo: { username: string; groups: string[] } } }).status.userInfo;
    assert.equal(info.username, someone);
    assert.ok(info.groups.includes('team-a'));
    const forbidden = await kubectl(['get', 'pods', '-n', 'default', '--as', someone], kc);
    assert.notEqual(forbidden.code, 0);
    assert.match(forbidden.stderr, new RegExp(`User "${someone}" cannot list resource "pods"`));
  });

  it('refuses a token it does not know', async () => {
    const result = await kubectl(['get', 'namespaces'], { kubeconfig: kubeconfigWithToken(cp, 'not-a-token') });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Unauthorized|must be logged in/i);
  });
});

describe('a control plane with --token-webhook', () => {
  let webhook: Server;
  let cp: PrivateControlPlane;
  const reviews: string[] = [];
  const goodToken = `webhook-${randomBytes(8).toString('hex')}`;

  before(async () => {
    const port = await freePort();
    // A tiny TokenReview webhook that accepts exactly one token.
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        const review = JSON.parse(body) as { apiVersion: string; spec: { token: string } };
        reviews.push(review.spec.token);
        const ok = review.spec.token === goodToken;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({
          apiVersion: review.apiVersion, kind: 'TokenReview',
          status: ok ? { authenticated: true, user: { username: 'webhook-user', uid: 'u-1', groups: ['webhook-group'] } } : { authenticated: false },
        }));
      });
    });
    await new Promise<void>((r) => webhook.listen(port, '127.0.0.1', r));
    cp = await startPrivateControlPlane({ tokenWebhook: `http://127.0.0.1:${port}/v1/authenticate` });
  });
  after(async () => {
    await cp?.stop();
    webhook?.close();
  });

  it('asks the webhook and trusts its answer', async () => {
    const ok = { kubeconfig: kubeconfigWithToken(cp.state, goodToken) };
    const out = JSON.parse(await kubectlOk(['auth', 'whoami', '-o', 'json'], ok)) as
      { status: { userInfo: { username: string; groups: string[] } } };
    assert.equal(out.status.userInfo.username, 'webhook-user');
    assert.ok(out.status.userInfo.groups.includes('webhook-group'));
    assert.ok(reviews.includes(goodToken));

    const bad = await kubectl(['get', 'namespaces'], { kubeconfig: kubeconfigWithToken(cp.state, 'webhook-wrong') });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Unauthorized|must be logged in/i);
    assert.ok(reviews.includes('webhook-wrong'));
  });
});
